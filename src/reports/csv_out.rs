//! CSV exports that open cleanly in Excel: RFC 4180 (the `csv` crate), UTF-8 with a byte-order
//! mark so that Chinese labels show as Chinese, and no cell from user text that a spreadsheet
//! would run as a formula. Bodies are streamed in chunks, never built whole.

use std::borrow::Cow;

use actix_web::HttpResponse;
use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::web::Bytes;
use futures_util::stream::{self, Stream};

/// UTF-8's byte-order mark: Excel reads a CSV as UTF-8 only when it starts with one.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Rows per chunk of a streamed body.
pub const CHUNK_ROWS: usize = 500;

/// One cell: text that came from a user (escaped against formula injection), or a value we
/// wrote ourselves (a number, a date, an id), written as it is.
#[derive(Debug, Clone)]
pub enum Cell<'a> {
    Text(&'a str),
    Plain(Cow<'a, str>),
}

impl<'a> Cell<'a> {
    pub fn plain(value: impl Into<Cow<'a, str>>) -> Cell<'a> {
        Cell::Plain(value.into())
    }
}

/// A row of an export.
pub trait CsvRow {
    /// The cells, in the order of the header.
    fn cells(&self) -> Vec<Cell<'_>>;
}

/// User text as a spreadsheet will not evaluate it: a cell that begins with `=`, `+`, `-` or
/// `@` (or a tab or carriage return, which some spreadsheets skip before one) gets a leading `'`.
pub fn defuse(text: &str) -> Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{text}")),
        _ => Cow::Borrowed(text),
    }
}

/// Encodes `rows` as CSV lines (RFC 4180: CRLF, quotes where needed).
pub fn encode<'r, R: CsvRow + 'r>(
    rows: impl IntoIterator<Item = &'r R>,
    out: &mut Vec<u8>,
) -> Result<(), csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    for row in rows {
        let cells = row.cells();
        w.write_record(cells.iter().map(|c| match c {
            Cell::Text(t) => defuse(t).into_owned().into_bytes(),
            Cell::Plain(p) => p.as_bytes().to_vec(),
        }))?;
    }
    w.flush()?;
    Ok(())
}

/// The BOM and the header line.
pub fn preamble(header: &[&str]) -> Result<Vec<u8>, csv::Error> {
    let mut out = BOM.to_vec();
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(&mut out);
    w.write_record(header)?;
    w.flush()?;
    drop(w);
    Ok(out)
}

/// A `text/csv` attachment named `filename`, whose body is `chunks`.
pub fn response<S>(filename: &str, chunks: S) -> HttpResponse
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + 'static,
{
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            ContentDisposition {
                disposition: DispositionType::Attachment,
                parameters: vec![DispositionParam::Filename(filename.to_owned())],
            },
        ))
        .streaming(chunks)
}

/// The stream of a CSV body over rows already in memory: the preamble, then chunks of
/// [`CHUNK_ROWS`] rows, each encoded only when the client is ready for it.
pub fn stream_rows<R: CsvRow + 'static>(
    header: &'static [&'static str],
    rows: Vec<R>,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    let mut rows = rows.into_iter();
    let mut started = false;
    stream::iter(std::iter::from_fn(move || {
        let mut out = if started {
            Vec::new()
        } else {
            started = true;
            match preamble(header) {
                Ok(p) => p,
                Err(e) => return Some(Err(std::io::Error::other(e))),
            }
        };
        let chunk: Vec<R> = rows.by_ref().take(CHUNK_ROWS).collect();
        if chunk.is_empty() && out.is_empty() {
            return None;
        }
        Some(
            encode(chunk.iter(), &mut out)
                .map(|()| Bytes::from(out))
                .map_err(std::io::Error::other),
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Row(&'static str, i64);

    impl CsvRow for Row {
        fn cells(&self) -> Vec<Cell<'_>> {
            vec![Cell::Text(self.0), Cell::plain(self.1.to_string())]
        }
    }

    #[test]
    fn formulas_in_user_text_are_defused_and_numbers_are_not() {
        for bad in ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"] {
            assert!(defuse(bad).starts_with('\''), "{bad:?}");
        }
        assert_eq!(defuse("灣仔 Café"), "灣仔 Café");
        let mut out = Vec::new();
        encode([Row("=HYPERLINK(\"x\")", -5)].iter(), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"'=HYPERLINK(\"\"x\"\")\",-5\r\n"
        );
    }

    #[tokio::test]
    async fn the_body_starts_with_a_bom_and_the_header_and_comes_in_chunks() {
        use futures_util::StreamExt;
        let rows: Vec<Row> = (0..1_200).map(|i| Row("中西區", i)).collect();
        let chunks: Vec<Bytes> = stream_rows(&["name", "n"], rows)
            .map(|c| c.unwrap())
            .collect()
            .await;
        assert_eq!(chunks.len(), 3, "1,200 rows in chunks of 500");
        let body: Vec<u8> = chunks.concat();
        assert!(body.starts_with(BOM));
        let text = std::str::from_utf8(&body[3..]).unwrap();
        assert!(text.starts_with("name,n\r\n中西區,0\r\n"));
        assert_eq!(text.lines().count(), 1_201);
    }

    #[tokio::test]
    async fn no_rows_is_still_a_header() {
        use futures_util::StreamExt;
        let chunks: Vec<Bytes> = stream_rows::<Row>(&["name", "n"], vec![])
            .map(|c| c.unwrap())
            .collect()
            .await;
        assert_eq!(chunks.concat(), [BOM, b"name,n\r\n"].concat());
    }
}
