//! The board's index of legal names, maintained with the projection so that a
//! name search reads a range instead of scanning every peer. Names are private
//! (DESIGN.md §8): only a node holding the openings sees them, so a mirror's
//! index stays empty.

use imbl::OrdSet;
use serde::{Deserialize, Serialize};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Every (folded word of a legal name, peer id) pair, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameIndex {
    words: OrdSet<(String, String)>,
}

/// Where a name search resumes: after this (word, peer id) entry.
pub type NameCursor = (String, String);

/// One page of a name search.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct NamePage {
    /// Matching peers, each once over all pages.
    pub peer_ids: Vec<String>,
    /// Where the next page starts, when the range may hold more.
    pub next: Option<NameCursor>,
}

/// A word folded for matching: decomposed, accents dropped, lower case.
pub fn fold(text: &str) -> String {
    text.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The folded words of a name or a query (split on anything not alphanumeric,
/// so "O'Brien-Díaz" gives "o", "brien", "diaz").
pub fn folded_words(text: &str) -> Vec<String> {
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

impl NameIndex {
    pub fn insert(&mut self, peer_id: &str, name: &str) {
        for word in folded_words(name) {
            self.words.insert((word, peer_id.to_string()));
        }
    }

    pub fn remove(&mut self, peer_id: &str, name: &str) {
        for word in folded_words(name) {
            self.words.remove(&(word, peer_id.to_string()));
        }
    }

    /// Peers whose name has a word starting with each word of `query`, from
    /// after `cursor`, at most `page` of them and at most `scan` index entries
    /// read. `name_of` gives a peer's current legal name. A peer is reported
    /// at its first word matching the query's first word only, so that paging
    /// covers every match exactly once.
    pub fn search<'a>(
        &self,
        query: &[String],
        cursor: Option<&NameCursor>,
        page: usize,
        scan: usize,
        name_of: impl Fn(&str) -> Option<&'a str>,
    ) -> NamePage {
        let mut answer = NamePage::default();
        let Some(first) = query.first() else {
            return answer;
        };
        let start = cursor.cloned().unwrap_or_else(|| (first.clone(), String::new()));
        let mut entries = self
            .words
            .range(start..)
            .filter(|entry| Some(*entry) != cursor)
            .take_while(|(word, _)| word.starts_with(first.as_str()))
            .peekable();
        let mut read = 0;
        while let Some((word, peer_id)) = entries.next() {
            read += 1;
            let words = name_of(peer_id).map(folded_words).unwrap_or_default();
            if reported_here(&words, query, word) {
                answer.peer_ids.push(peer_id.clone());
            }
            if (answer.peer_ids.len() == page || read == scan) && entries.peek().is_some() {
                answer.next = Some((word.clone(), peer_id.clone()));
                break;
            }
        }
        answer
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

/// Whether a peer whose name folds to `words` matches every query word and
/// `word` is the first of its words matching the query's first word.
fn reported_here(words: &[String], query: &[String], word: &str) -> bool {
    let all_match = query.iter().all(|q| words.iter().any(|w| w.starts_with(q.as_str())));
    let first_match = words.iter().filter(|w| w.starts_with(query[0].as_str())).min();
    all_match && first_match.map(String::as_str) == Some(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_drops_accents_and_case_and_splits_words() {
        assert_eq!(
            folded_words("José ÁLVAREZ-Ñúñez O'Brien"),
            ["jose", "alvarez", "nunez", "o", "brien"]
        );
    }

    /// However small the scan bound, paging reaches every match exactly once.
    #[test]
    fn a_short_scan_still_covers_every_match_once() {
        let names = [
            ("p1", "Mara Marín"),
            ("p2", "Ana Mar"),
            ("p3", "Marco Polo"),
            ("p4", "Bob Stone"),
        ];
        let mut index = NameIndex::default();
        for (id, name) in names {
            index.insert(id, name);
        }
        let name_of = |id: &str| names.iter().find(|(i, _)| *i == id).map(|(_, n)| *n);
        let query = folded_words("mar");
        for scan in 1..4 {
            let mut seen = Vec::new();
            let mut cursor = None;
            loop {
                let page = index.search(&query, cursor.as_ref(), 2, scan, name_of);
                seen.extend(page.peer_ids);
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            seen.sort();
            assert_eq!(seen, ["p1", "p2", "p3"], "scan {scan}");
        }
    }
}
