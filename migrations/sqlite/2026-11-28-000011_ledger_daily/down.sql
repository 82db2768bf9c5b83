DROP INDEX applications_waited;
DROP TABLE ledger_daily_state;
DROP TABLE ledger_daily;
