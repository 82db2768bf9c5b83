ALTER TABLE smes RESET (fillfactor);
