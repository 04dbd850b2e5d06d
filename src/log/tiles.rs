//! C2SP `tlog-tiles`: the log as immutable tiles, the layout issue 18 moves
//! the store to and serves over HTTP. This module is the pure part: paths,
//! which tiles a tree of a given size has, and the byte formats.
//!
//! - A *hash tile* at level `L`, index `N`, holds the hashes of the tree's
//!   nodes of height `8·L` numbered `256·N` to `256·N + W − 1` (W ≤ 256),
//!   32 bytes each, in order. A full tile (W = 256) never changes; a partial
//!   one is served at `…​.p/<W>` while the level fills.
//! - An *entry bundle* holds entries `256·N` to `256·N + W − 1`, each a
//!   16-bit big-endian length then the entry's bytes; so an entry is at most
//!   65,535 bytes (`limits::ENTRY_BYTES_MAX` is below that, asserted here).
//! - Paths: `tile/<L>/<N>` and `tile/entries/<N>`, where `N` is written in
//!   groups of three digits, every group but the last prefixed with `x`
//!   (1234067 → `x001/x234/067`), with `.p/<W>` appended for a partial tile.

use super::merkle::{Hash, HashReader, NodeId};
use crate::limits;

/// Hashes (or entries) per full tile.
pub const TILE_WIDTH: u64 = 256;
/// Tree levels one tile spans.
pub const TILE_HEIGHT: u8 = 8;
/// Bytes of a full hash tile.
pub const HASH_TILE_BYTES: usize = TILE_WIDTH as usize * 32;

const _: () = assert!(
    limits::ENTRY_BYTES_MAX <= u16::MAX as usize,
    "an entry must fit a bundle's 16-bit length"
);

/// One tile of a tree: its level (`None` for an entry bundle), index and width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tile {
    pub level: Option<u8>,
    pub index: u64,
    /// Hashes (or entries) it holds: 256 when full.
    pub width: u64,
}

impl Tile {
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// Its path under the log's prefix.
    pub fn path(&self) -> String {
        let level = match self.level {
            Some(level) => level.to_string(),
            None => "entries".to_string(),
        };
        let partial = if self.is_full() {
            String::new()
        } else {
            format!(".p/{}", self.width)
        };
        format!("tile/{level}/{}{partial}", index_path(self.index))
    }

    /// Parses a path as [`Tile::path`] writes it (and only so: one spelling
    /// per tile, so a cache never holds two copies), e.g.
    /// `tile/0/x001/x234/067` or `tile/entries/005.p/17`.
    pub fn parse_path(path: &str) -> Option<Tile> {
        let rest = path.strip_prefix("tile/")?;
        let (level, rest) = rest.split_once('/')?;
        let level = match level {
            "entries" => None,
            digits => Some(digits.parse::<u8>().ok().filter(|l| *l < 64 / TILE_HEIGHT)?),
        };
        let (index, width) = match rest.split_once(".p/") {
            Some((index, width)) => (
                index,
                width.parse::<u64>().ok().filter(|w| (1..TILE_WIDTH).contains(w))?,
            ),
            None => (rest, TILE_WIDTH),
        };
        let mut n: u64 = 0;
        for group in index.split('/') {
            let digits = group.strip_prefix('x').unwrap_or(group);
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            n = n.checked_mul(1000)?.checked_add(digits.parse().ok()?)?;
        }
        let tile = Tile { level, index: n, width };
        (tile.path() == path).then_some(tile)
    }

    /// Whether every node (or entry) this tile holds is in a tree of `size`.
    pub fn within(&self, size: u64) -> bool {
        let end = u128::from(self.index) * u128::from(TILE_WIDTH) + u128::from(self.width);
        let shift = u32::from(self.level.unwrap_or(0)) * u32::from(TILE_HEIGHT);
        // Node `i` of height `shift` is complete iff `(i + 1) << shift <= size`.
        end <= u128::from(size.checked_shr(shift).unwrap_or(0))
    }

    /// The tree nodes a hash tile holds, in order (empty for an entry bundle).
    pub fn nodes(&self) -> Vec<NodeId> {
        let Some(level) = self.level else {
            return Vec::new();
        };
        let first = self.index * TILE_WIDTH;
        (first..first + self.width)
            .map(|index| NodeId {
                level: level * TILE_HEIGHT,
                index,
            })
            .collect()
    }
}

/// `n` in groups of three digits, all but the last prefixed with `x`.
pub fn index_path(mut n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    n /= 1000;
    while n > 0 {
        groups.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

/// The hash tiles of a tree of `size` leaves at `level`: the full ones, then
/// the partial one if the level does not end on a tile boundary.
pub fn hash_tiles(size: u64, level: u8) -> Vec<Tile> {
    let shift = u32::from(level) * u32::from(TILE_HEIGHT);
    let count = if shift >= 64 { 0 } else { size >> shift };
    tiles_of(count, Some(level))
}

/// The entry bundles of a tree of `size` leaves.
pub fn entry_bundles(size: u64) -> Vec<Tile> {
    tiles_of(size, None)
}

fn tiles_of(count: u64, level: Option<u8>) -> Vec<Tile> {
    let full = count / TILE_WIDTH;
    let rest = count % TILE_WIDTH;
    let mut tiles: Vec<Tile> = (0..full)
        .map(|index| Tile {
            level,
            index,
            width: TILE_WIDTH,
        })
        .collect();
    if rest > 0 {
        tiles.push(Tile {
            level,
            index: full,
            width: rest,
        });
    }
    tiles
}

/// A hash tile's bytes, read through `reader` (one batched read).
pub fn hash_tile<R: HashReader>(tile: &Tile, reader: &R) -> Result<Vec<u8>, R::Error> {
    let hashes = reader.read_hashes(&tile.nodes())?;
    Ok(hashes.concat())
}

/// Splits a hash tile's bytes into hashes; `None` unless it holds exactly
/// `width` of them.
pub fn parse_hash_tile(bytes: &[u8], width: u64) -> Option<Vec<Hash>> {
    if bytes.len() as u64 != width * 32 {
        return None;
    }
    bytes.chunks_exact(32).map(|c| c.try_into().ok()).collect()
}

/// An entry bundle's bytes; an entry longer than 65,535 bytes cannot be in
/// one (the append path refuses such entries long before).
pub fn encode_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(entries.iter().map(|e| e.as_ref().len() + 2).sum());
    for entry in entries {
        let entry = entry.as_ref();
        let length = u16::try_from(entry.len()).ok()?;
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(entry);
    }
    Some(out)
}

/// The entries of a bundle, at most [`TILE_WIDTH`]; `None` if the bytes are
/// not a bundle (a length running past the end, too many entries).
pub fn decode_bundle(mut bytes: &[u8]) -> Option<Vec<&[u8]>> {
    let mut entries = Vec::new();
    while !bytes.is_empty() {
        if entries.len() as u64 == TILE_WIDTH || bytes.len() < 2 {
            return None;
        }
        let length = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
        let rest = &bytes[2..];
        if rest.len() < length {
            return None;
        }
        entries.push(&rest[..length]);
        bytes = &rest[length..];
    }
    Some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::merkle::{leaf_hash, node_hash};

    fn known() -> serde_json::Value {
        crate::log::known_answers("c2sp_tlog_tiles")
    }

    #[test]
    fn paths_follow_the_spec() {
        let k = known();
        assert_eq!(
            index_path(1_234_067),
            k["path_of_tile_index_1234067"].as_str().expect("path")
        );
        assert_eq!(index_path(0), "000");
        assert_eq!(index_path(1000), "x001/000");
        let full = Tile {
            level: Some(0),
            index: 1_234_067,
            width: 256,
        };
        assert_eq!(full.path(), "tile/0/x001/x234/067");
        let partial = Tile {
            level: None,
            index: 5,
            width: 17,
        };
        assert_eq!(partial.path(), "tile/entries/005.p/17");
        assert_eq!(TILE_WIDTH, k["tile_width"].as_u64().expect("width"));
        assert_eq!(
            HASH_TILE_BYTES as u64,
            k["hash_tile_bytes_full"].as_u64().expect("bytes")
        );
    }

    #[test]
    fn a_tree_of_70000_leaves_has_the_spec_tiles() {
        let k = &known()["tree_of_70000_leaves"];
        let level0 = hash_tiles(70_000, 0);
        let full = level0.iter().filter(|t| t.is_full()).count() as u64;
        assert_eq!(full, k["full_level0_tiles"].as_u64().expect("full"));
        assert_eq!(level0.last().map(|t| t.width), k["partial_level0_width"].as_u64());
        // Level 1 holds the 273 complete subtrees of 256 leaves: a full tile
        // and a partial one of 17.
        assert_eq!(
            hash_tiles(70_000, 1),
            vec![
                Tile {
                    level: Some(1),
                    index: 0,
                    width: 256
                },
                Tile {
                    level: Some(1),
                    index: 1,
                    width: 17
                }
            ]
        );
        assert_eq!(hash_tiles(70_000, 3), Vec::new());
        assert_eq!(entry_bundles(512).len(), 2);
        assert!(entry_bundles(0).is_empty());
    }

    struct Leaves(Vec<Hash>);

    impl HashReader for Leaves {
        type Error = ();
        fn read_hashes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, ()> {
            nodes.iter().map(|n| Ok(subtree(&self.0, n))).collect()
        }
    }

    fn subtree(leaves: &[Hash], node: &NodeId) -> Hash {
        if node.level == 0 {
            return leaves[node.index as usize];
        }
        let left = NodeId {
            level: node.level - 1,
            index: node.index * 2,
        };
        let right = NodeId {
            level: node.level - 1,
            index: node.index * 2 + 1,
        };
        node_hash(&subtree(leaves, &left), &subtree(leaves, &right))
    }

    #[test]
    fn a_hash_tile_is_its_nodes_hashes_in_order_and_parses_back() {
        let leaves: Vec<Hash> = (0..300u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let reader = Leaves(leaves.clone());
        let tile = hash_tiles(300, 0)[0];
        let bytes = hash_tile(&tile, &reader).expect("read");
        assert_eq!(bytes.len(), HASH_TILE_BYTES);
        assert_eq!(parse_hash_tile(&bytes, 256).expect("parses"), leaves[..256].to_vec());
        assert!(parse_hash_tile(&bytes[1..], 256).is_none());
        let partial = hash_tiles(300, 0)[1];
        assert_eq!(partial.width, 44);
        assert_eq!(hash_tile(&partial, &reader).expect("read").len(), 44 * 32);
    }

    #[test]
    fn paths_parse_back_only_in_their_one_spelling() {
        for tile in [
            Tile {
                level: Some(0),
                index: 1_234_067,
                width: 256,
            },
            Tile {
                level: Some(2),
                index: 0,
                width: 3,
            },
            Tile {
                level: None,
                index: 999,
                width: 255,
            },
        ] {
            assert_eq!(Tile::parse_path(&tile.path()), Some(tile));
        }
        for bad in [
            "tile/0/67",
            "tile/0/x000/067",
            "tile/0/001/067",
            "tile/8/000",
            "tile/0/000.p/256",
            "tile/0/000.p/0",
            "tile/0/000.p/017",
            "tile/../000",
            "tile/entries/x1/000",
            "checkpoint",
            "tile/0/x99999999999999999999/000",
        ] {
            assert_eq!(Tile::parse_path(bad), None, "{bad}");
        }
        let tile = Tile {
            level: Some(1),
            index: 0,
            width: 2,
        };
        assert!(tile.within(512) && !tile.within(511));
        assert!(Tile {
            level: None,
            index: 1,
            width: 4
        }
        .within(260));
        assert!(!Tile {
            level: Some(7),
            index: u64::MAX,
            width: 256
        }
        .within(u64::MAX));
    }

    #[test]
    fn bundles_round_trip_and_refuse_what_is_not_one() {
        let entries: Vec<Vec<u8>> = (0..256u32).map(|i| vec![i as u8; (i % 7) as usize]).collect();
        let bytes = encode_bundle(&entries).expect("encodes");
        let decoded = decode_bundle(&bytes).expect("decodes");
        assert_eq!(decoded.len(), 256);
        assert!(decoded.iter().zip(&entries).all(|(d, e)| *d == e.as_slice()));
        assert!(decode_bundle(&bytes[..bytes.len() - 1]).is_none(), "a cut bundle");
        let mut more = bytes.clone();
        more.extend_from_slice(&[0, 0]);
        assert!(decode_bundle(&more).is_none(), "257 entries");
        assert!(
            encode_bundle(&[vec![0u8; 65_536]]).is_none(),
            "an entry too long for its length prefix"
        );
        assert_eq!(decode_bundle(&[]), Some(Vec::new()));
    }
}
