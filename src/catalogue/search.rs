//! Bilingual search: one normalisation for documents and queries, so that English words and
//! Chinese text match the same way on PostgreSQL (postings of our tokens and their prefixes,
//! src/catalogue/terms.rs) and SQLite (FTS5 over the same tokens).
//!
//! Text is cut into runs. A run of letters and digits outside the CJK scripts becomes one
//! lower-cased word. A run of CJK characters becomes its single characters plus every
//! overlapping pair (as Lucene's CJK analyser does), so `收銀` finds 「雲端收銀系統」 without a
//! dictionary. Full-width ASCII is folded to ASCII first.

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::db::{Backend, DbConnection};

/// Whether `c` belongs to a script written without spaces between words.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Extension A
        | 0x4E00..=0x9FFF    // CJK Unified Ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK Compatibility Ideographs
        | 0x20000..=0x2FA1F) // Extensions B onwards
}

/// Folds full-width ASCII (Ａ, ｐ, ０) to ASCII.
fn fold_width(c: char) -> char {
    match c as u32 {
        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// A piece of text cut into runs: `(is_cjk, run)`.
fn runs(text: &str) -> Vec<(bool, String)> {
    let mut out: Vec<(bool, String)> = Vec::new();
    for c in text.chars().map(fold_width) {
        let kind = if is_cjk(c) {
            Some(true)
        } else if c.is_alphanumeric() {
            Some(false)
        } else {
            None
        };
        match (kind, out.last_mut()) {
            (Some(k), Some((last_kind, run))) if *last_kind == k && !run.is_empty() => run.push(c),
            (Some(k), _) => out.push((k, c.to_string())),
            (None, _) => out.push((false, String::new())),
        }
    }
    out.retain(|(_, run)| !run.is_empty());
    out
}

fn cjk_tokens(run: &str, with_unigrams: bool, out: &mut Vec<String>) {
    let chars: Vec<char> = run.chars().collect();
    if chars.len() == 1 || with_unigrams {
        out.extend(chars.iter().map(char::to_string));
    }
    out.extend(chars.windows(2).map(|pair| pair.iter().collect::<String>()));
}

/// The longest word kept in a search document, in bytes. Nobody searches for a longer one (a
/// query holds at most [`MAX_QUERY_CHARS`] characters), and PostgreSQL refuses a lexeme over
/// 2,047 bytes: a guide of 20,000 digits in a row made the whole save fail.
pub const MAX_WORD_BYTES: usize = 256;

/// The search document of some texts: distinct tokens, space-separated.
pub fn document(texts: &[&str]) -> String {
    let mut tokens = BTreeSet::new();
    for text in texts {
        for (cjk, run) in runs(text) {
            if cjk {
                let mut pieces = Vec::new();
                cjk_tokens(&run, true, &mut pieces);
                tokens.extend(pieces);
            } else if run.len() <= MAX_WORD_BYTES {
                tokens.insert(run.to_lowercase());
            }
        }
    }
    tokens.into_iter().collect::<Vec<_>>().join(" ")
}

/// A query, normalised: every token must match; the last English word may match as a prefix
/// (so `pay` finds "payment" while the user types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub tokens: Vec<String>,
    pub prefix_last: bool,
}

/// The longest search text accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// The most distinct search terms (words, CJK characters and pairs) a query may hold.
pub const MAX_QUERY_TOKENS: usize = 16;

impl Query {
    /// Parses the `q` a client sent, within the bounds above: a 422 naming `q` otherwise, so
    /// that no input reaches the database's text-search parser beyond what it can take.
    pub fn parse_input(q: &str) -> Result<Query, crate::error::ApiError> {
        use crate::error::ApiError;
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(ApiError::invalid(
                "q",
                format!("must be at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        let query = Query::parse(q).ok_or_else(|| {
            ApiError::invalid(
                "q",
                "has no letters, digits or Chinese characters to search for",
            )
        })?;
        if query.tokens.len() > MAX_QUERY_TOKENS {
            return Err(ApiError::invalid(
                "q",
                format!("has more than {MAX_QUERY_TOKENS} distinct search terms"),
            ));
        }
        Ok(query)
    }

    /// Normalises `q`; `None` when it holds no searchable character.
    pub fn parse(q: &str) -> Option<Query> {
        let runs = runs(q);
        let mut tokens = Vec::new();
        let mut last_is_word = false;
        for (cjk, run) in &runs {
            if *cjk {
                // A CJK run of two or more characters is matched by its pairs; one character by
                // itself.
                cjk_tokens(run, false, &mut tokens);
                last_is_word = false;
            } else {
                tokens.push(run.to_lowercase());
                last_is_word = true;
            }
        }
        let mut seen = BTreeSet::new();
        tokens.retain(|t| seen.insert(t.clone()));
        let ends_in_space = q.chars().last().is_some_and(char::is_whitespace);
        if tokens.is_empty() {
            None
        } else {
            Some(Query {
                prefix_last: last_is_word && !ends_in_space,
                tokens,
            })
        }
    }

    /// The PostgreSQL `tsquery` text: quoted lexemes joined by `&`.
    pub fn tsquery(&self) -> String {
        self.terms(" & ", |t| format!("'{t}'"), ":*")
    }

    /// The SQLite FTS5 query text: quoted terms, implicitly AND-ed.
    pub fn fts5(&self) -> String {
        self.terms(" ", |t| format!("\"{t}\""), "*")
    }

    fn terms(&self, joiner: &str, quote: impl Fn(&str) -> String, prefix: &str) -> String {
        let last = self.tokens.len().saturating_sub(1);
        self.tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut term = quote(t);
                if i == last && self.prefix_last {
                    term.push_str(prefix);
                }
                term
            })
            .collect::<Vec<_>>()
            .join(joiner)
    }
}

/// Stores a package's search document, from its live revision and its vendor's names.
pub fn index(conn: &mut DbConnection, package_id: &str, texts: &[&str]) -> QueryResult<()> {
    use crate::db::schema::packages;
    let doc = document(texts);
    diesel::update(packages::table.find(package_id))
        .set(packages::search_document.eq(&doc))
        .execute(conn)?;
    if conn.backend() == Backend::Sqlite {
        diesel::sql_query("DELETE FROM package_search WHERE package_id = ?")
            .bind::<Text, _>(package_id)
            .execute(conn)?;
        diesel::sql_query("INSERT INTO package_search (package_id, document) VALUES (?, ?)")
            .bind::<Text, _>(package_id)
            .bind::<Text, _>(&doc)
            .execute(conn)?;
    }
    Ok(())
}

/// Rebuilds the search document of a package from its live revision and its vendor's names.
pub fn reindex(conn: &mut DbConnection, package_id: &str) -> QueryResult<()> {
    use crate::db::schema::{package_revisions, packages, vendors};
    let live: Option<(String, String, String, String, String, Option<String>)> = packages::table
        .inner_join(vendors::table)
        .inner_join(
            package_revisions::table.on(package_revisions::id
                .nullable()
                .eq(packages::live_revision_id)),
        )
        .filter(packages::id.eq(package_id))
        .select((
            package_revisions::name_en,
            package_revisions::name_zh,
            package_revisions::summary_en,
            package_revisions::summary_zh,
            vendors::company_name_en,
            vendors::company_name_zh,
        ))
        .first(conn)
        .optional()?;
    match live {
        Some((name_en, name_zh, summary_en, summary_zh, vendor_en, vendor_zh)) => index(
            conn,
            package_id,
            &[
                &name_en,
                &name_zh,
                &summary_en,
                &summary_zh,
                &vendor_en,
                vendor_zh.as_deref().unwrap_or(""),
            ],
        ),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_hold_lower_cased_words_and_cjk_characters_and_pairs() {
        assert_eq!(
            document(&["Cloud POS", "雲端收銀"]),
            "cloud pos 收 收銀 端 端收 銀 雲 雲端"
        );
        assert_eq!(document(&["ＰＯＳ-２"]), "2 pos");
        assert_eq!(
            document(&["會員積分, e-Coupon!"]),
            "coupon e 分 員 員積 會 會員 積 積分"
        );
    }

    #[test]
    fn queries_need_every_token_and_prefix_the_last_word() {
        let q = Query::parse("收銀").unwrap();
        assert_eq!(q.tokens, ["收銀"]);
        let q = Query::parse("會員 積分").unwrap();
        assert_eq!(q.tokens, ["會員", "積分"]);
        assert!(!q.prefix_last);
        let q = Query::parse("Cloud po").unwrap();
        assert_eq!(
            (q.tokens.clone(), q.prefix_last),
            (vec!["cloud".to_owned(), "po".to_owned()], true)
        );
        assert_eq!(q.tsquery(), "'cloud' & 'po':*");
        assert_eq!(q.fts5(), "\"cloud\" \"po\"*");
        assert!(
            !Query::parse("pos ").unwrap().prefix_last,
            "a finished word is not a prefix"
        );
        assert_eq!(
            Query::parse("收銀系統").unwrap().tokens,
            ["收銀", "銀系", "系統"]
        );
        assert_eq!(Query::parse("銀").unwrap().tokens, ["銀"]);
        assert!(Query::parse(" ,.! ").is_none());
        assert_eq!(
            Query::parse("'; DROP TABLE--").unwrap().tokens,
            ["drop", "table"]
        );
    }

    #[test]
    fn words_too_long_to_search_for_are_left_out() {
        let long = "0".repeat(20_000);
        assert_eq!(document(&[&format!("pos {long} 收銀")]), "pos 收 收銀 銀");
        let longest = "a".repeat(MAX_WORD_BYTES);
        assert_eq!(document(&[&longest]), longest);
    }

    #[test]
    fn every_query_token_of_a_text_is_in_its_document() {
        for text in [
            "雲端收銀系統",
            "Cloud POS for Cafés",
            "會員積分 Loyalty",
            "二維碼支付收銀",
        ] {
            let doc: BTreeSet<String> = document(&[text]).split(' ').map(str::to_owned).collect();
            let q = Query::parse(text).unwrap();
            assert!(
                q.tokens.iter().all(|t| doc.contains(t)),
                "{text}: {q:?} vs {doc:?}"
            );
        }
    }
}
