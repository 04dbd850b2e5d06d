//! RFC 6962 / RFC 9162 Merkle tree math. Pure: no IO, no transport.
//!
//! The tree is stored as the hashes of its *complete* subtrees: node `(level, n)`
//! covers leaves `[n << level, (n + 1) << level)`. Appending leaf `i` creates node
//! `(0, i)` and one more node per trailing one-bit of `i`, so each append stores at
//! most `1 + log2(n)` hashes, and never changes a stored hash. Every root, inclusion
//! proof and consistency proof is a fold over a few such nodes: we first compute
//! *which* nodes are needed (a plan), fetch them in one read through [`HashReader`],
//! then combine. That keeps proofs at O(log n) reads, with no rehashing of the log.

use sha2::{Digest, Sha256};

/// A SHA-256 digest: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// The position of one leaf (one entry) in the log, from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LeafIndex(pub u64);

/// The number of leaves of a tree: a checkpoint's size. Distinct from
/// [`LeafIndex`] so that an index and a size cannot be passed for each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TreeSize(pub u64);

impl std::fmt::Display for LeafIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for TreeSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A complete, aligned subtree: `level` 0 is a leaf; it covers
/// leaves `[index << level, (index + 1) << level)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

impl NodeId {
    pub fn leaf(index: u64) -> NodeId {
        NodeId { level: 0, index }
    }

    /// The number of leaves this node covers.
    fn width(self) -> u64 {
        1u64 << self.level
    }
}

/// Read access to stored node hashes: the only way the math touches storage.
pub trait HashReader {
    type Error;
    /// Returns the hashes of `nodes`, in the same order. Every node asked for is a
    /// complete subtree of the current tree, so a missing one is a storage error.
    fn read_hashes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, Self::Error>;
}

/// RFC 6962 leaf hash: SHA-256(0x00 ‖ data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(data);
    hasher.finalize().into()
}

/// RFC 6962 interior node hash: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The aligned complete subtrees that exactly cover leaves `[start, end)`, left to
/// right. For the ranges that RFC 6962's recursion produces, folding their hashes
/// from the right ([`fold_right`]) gives the Merkle tree hash of the range.
pub fn range_nodes(start: u64, end: u64) -> Vec<NodeId> {
    assert!(start <= end, "range [{start}, {end}) is reversed");
    let mut nodes = Vec::new();
    let mut cursor = start;
    while cursor < end {
        let mut level = if cursor == 0 { 63 } else { cursor.trailing_zeros() };
        while (1u64 << level) > end - cursor {
            level -= 1;
        }
        let node = NodeId {
            level: level as u8,
            index: cursor >> level,
        };
        nodes.push(node);
        cursor += node.width();
    }
    nodes
}

/// Combines the hashes of adjacent subtrees, right to left: `H(h0, H(h1, … hk))`.
/// The empty list folds to the empty tree's root.
pub fn fold_right(hashes: &[Hash]) -> Hash {
    let Some((last, rest)) = hashes.split_last() else {
        return empty_root();
    };
    rest.iter().rev().fold(*last, |acc, left| node_hash(left, &acc))
}

/// The root of the tree of `size` leaves, read from stored hashes (O(log n) reads).
pub fn root_at<R: HashReader>(size: u64, reader: &R) -> Result<Hash, R::Error> {
    let nodes = range_nodes(0, size);
    Ok(fold_right(&reader.read_hashes(&nodes)?))
}

/// RFC 6962's hash of a list of leaf hashes (MTH), computed in memory (for a
/// chunk of leaves read in bulk, where reading stored nodes would cost more).
pub fn subtree_root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [leaf] => *leaf,
        _ => {
            let split = leaves.len().next_power_of_two() / 2;
            node_hash(&subtree_root(&leaves[..split]), &subtree_root(&leaves[split..]))
        }
    }
}

/// The root of a tree of `size` leaves from the roots of its consecutive
/// `chunk`-leaf subtrees (the last one possibly smaller). `chunk` is a power of
/// two, so each chunk is a complete subtree of the tree.
pub fn root_of_chunks(subtrees: &[Hash], size: TreeSize, chunk: u64) -> Hash {
    debug_assert!(chunk.is_power_of_two());
    let TreeSize(size) = size;
    match subtrees {
        [] => empty_root(),
        [root] => *root,
        _ => {
            // The split of MTH: the largest power of two below `size`, whole chunks.
            let left = size.next_power_of_two() / 2;
            let split = ((left / chunk) as usize).min(subtrees.len());
            node_hash(
                &root_of_chunks(&subtrees[..split], TreeSize(left), chunk),
                &root_of_chunks(&subtrees[split..], TreeSize(size - left), chunk),
            )
        }
    }
}

/// The largest power of two strictly smaller than `n` (RFC 6962's split point k).
fn split_point(n: u64) -> u64 {
    assert!(n > 1, "only trees of two or more leaves split");
    1u64 << (63 - (n - 1).leading_zeros())
}

/// A plan: the leaf ranges whose tree hashes make up a proof, in proof order.
type Plan = Vec<(u64, u64)>;

/// The ranges of RFC 6962 §2.1.1 PATH(index, D[0:size]).
pub fn inclusion_plan(index: LeafIndex, size: TreeSize) -> Plan {
    let (LeafIndex(index), TreeSize(size)) = (index, size);
    assert!(index < size, "leaf {index} is outside a tree of size {size}");
    let mut plan = Vec::new();
    let (mut lo, mut hi) = (0, size);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            plan.push((lo + k, hi));
            hi = lo + k;
        } else {
            plan.push((lo, lo + k));
            lo += k;
        }
    }
    plan.reverse();
    plan
}

/// The ranges of RFC 6962 §2.1.2 PROOF(old_size, D[0:new_size]).
pub fn consistency_plan(old_size: TreeSize, new_size: TreeSize) -> Plan {
    let (TreeSize(old_size), TreeSize(new_size)) = (old_size, new_size);
    assert!(
        0 < old_size && old_size <= new_size,
        "no consistency proof from {old_size} to {new_size}"
    );
    let mut plan = Vec::new();
    let (mut m, mut lo, mut hi, mut whole) = (old_size, 0, new_size, true);
    while m != hi - lo {
        let k = split_point(hi - lo);
        if m <= k {
            plan.push((lo + k, hi));
            hi = lo + k;
        } else {
            plan.push((lo, lo + k));
            m -= k;
            lo += k;
            whole = false;
        }
    }
    if !whole {
        plan.push((lo, hi));
    }
    plan.reverse();
    plan
}

/// Resolves a plan into proof hashes with one batched read.
pub fn resolve_plan<R: HashReader>(plan: &[(u64, u64)], reader: &R) -> Result<Vec<Hash>, R::Error> {
    let per_range: Vec<Vec<NodeId>> = plan.iter().map(|&(lo, hi)| range_nodes(lo, hi)).collect();
    let all: Vec<NodeId> = per_range.iter().flatten().copied().collect();
    let hashes = reader.read_hashes(&all)?;
    assert_eq!(hashes.len(), all.len(), "the reader must answer every node asked for");
    let mut proof = Vec::with_capacity(plan.len());
    let mut offset = 0;
    for nodes in &per_range {
        proof.push(fold_right(&hashes[offset..offset + nodes.len()]));
        offset += nodes.len();
    }
    Ok(proof)
}

/// The right edge of a tree: the complete subtrees covering `[0, size)`, largest
/// first. Appending a leaf merges equal-sized subtrees and yields exactly the new
/// nodes to store. Kept in memory by the writer so an append reads nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<(NodeId, Hash)>,
}

impl Frontier {
    /// Loads the frontier of a stored tree of `size` leaves (O(log n) reads).
    pub fn load<R: HashReader>(size: u64, reader: &R) -> Result<Frontier, R::Error> {
        let ids = range_nodes(0, size);
        let hashes = reader.read_hashes(&ids)?;
        Ok(Frontier {
            size,
            nodes: ids.into_iter().zip(hashes).collect(),
        })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The complete subtrees covering `[0, size)`, largest first.
    pub fn nodes(&self) -> &[(NodeId, Hash)] {
        &self.nodes
    }

    pub fn root(&self) -> Hash {
        let hashes: Vec<Hash> = self.nodes.iter().map(|(_, hash)| *hash).collect();
        fold_right(&hashes)
    }

    /// Appends one leaf; returns the nodes completed by it (the leaf first).
    pub fn push(&mut self, leaf: Hash) -> Vec<(NodeId, Hash)> {
        let mut node = NodeId::leaf(self.size);
        let mut hash = leaf;
        let mut completed = vec![(node, hash)];
        while let Some(&(last, last_hash)) = self.nodes.last() {
            if last.level != node.level {
                break;
            }
            self.nodes.pop();
            hash = node_hash(&last_hash, &hash);
            node = NodeId {
                level: node.level + 1,
                index: node.index >> 1,
            };
            completed.push((node, hash));
        }
        self.nodes.push((node, hash));
        self.size += 1;
        completed
    }
}

/// Tree hashes held in memory: the frontier before a batch and every node the
/// batch completed. Together they hold every node an inclusion proof of one
/// of the batch's leaves in the tree after it needs (a left sibling outside
/// the batch is a maximal aligned subtree of the old tree, so a frontier
/// node; everything else lies in the batch), so the writer answers proofs
/// for what it just appended without reading anything back.
#[derive(Debug, Default)]
pub struct BatchNodes(std::collections::HashMap<NodeId, Hash>);

/// A node [`BatchNodes`] does not hold (a bug in the caller).
#[derive(Debug, thiserror::Error)]
#[error("tree node {0:?} is not among the batch's nodes")]
pub struct NotInBatch(pub NodeId);

impl BatchNodes {
    pub fn new(before: &Frontier, completed: &[(NodeId, Hash)]) -> BatchNodes {
        BatchNodes(before.nodes.iter().chain(completed).copied().collect())
    }

    /// The inclusion proof of leaf `index` (one of the batch's) in the tree of `size`.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, NotInBatch> {
        resolve_plan(&inclusion_plan(LeafIndex(index), TreeSize(size)), self)
    }
}

impl HashReader for BatchNodes {
    type Error = NotInBatch;

    fn read_hashes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, NotInBatch> {
        nodes
            .iter()
            .map(|node| self.0.get(node).copied().ok_or(NotInBatch(*node)))
            .collect()
    }
}

/// RFC 9162 §2.1.3.2: does `proof` show leaf `index` with `leaf` hash in the tree
/// of `size` leaves with `root`?
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut running = *leaf;
    for sibling in proof {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            running = node_hash(sibling, &running);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            running = node_hash(&running, sibling);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && running == *root
}

/// RFC 9162 §2.1.4.2: does `proof` show the tree (`old_size`, `old_root`) is a
/// prefix of (`new_size`, `new_root`)?
pub fn verify_consistency(old_size: u64, new_size: u64, proof: &[Hash], old_root: &Hash, new_root: &Hash) -> bool {
    if old_size == 0 || old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut old_running, mut new_running) = (*first, *first);
    for hash in rest {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            old_running = node_hash(hash, &old_running);
            new_running = node_hash(hash, &new_running);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            new_running = node_hash(&new_running, hash);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && old_running == *old_root && new_running == *new_root
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_batch_proves_its_own_leaves_from_memory() {
        let leaf = |i: u64| leaf_hash(&i.to_be_bytes());
        for (start, end) in [
            (0, 1),
            (0, 7),
            (1, 2),
            (5, 6),
            (6, 64),
            (63, 65),
            (100, 157),
            (255, 1000),
            (1024, 1025),
        ] {
            let mut frontier = Frontier::default();
            for i in 0..start {
                frontier.push(leaf(i));
            }
            let before = frontier.clone();
            let mut completed = Vec::new();
            for i in start..end {
                completed.extend(frontier.push(leaf(i)));
            }
            let nodes = BatchNodes::new(&before, &completed);
            for i in start..end {
                let proof = nodes
                    .inclusion_proof(i, end)
                    .unwrap_or_else(|e| panic!("leaf {i} of [{start}, {end}): {e}"));
                assert!(
                    verify_inclusion(&leaf(i), i, end, &proof, &frontier.root()),
                    "leaf {i} of [{start}, {end})"
                );
            }
        }
    }

    use std::collections::HashMap;
    use std::convert::Infallible;

    use proptest::prelude::*;

    use super::*;

    /// An in-memory store of complete-subtree hashes, filled through a Frontier.
    #[derive(Default)]
    struct MemoryTree {
        frontier: Frontier,
        nodes: HashMap<NodeId, Hash>,
    }

    impl MemoryTree {
        fn with_leaves(leaves: &[Vec<u8>]) -> MemoryTree {
            let mut tree = MemoryTree::default();
            for leaf in leaves {
                for (id, hash) in tree.frontier.push(leaf_hash(leaf)) {
                    assert!(tree.nodes.insert(id, hash).is_none(), "node {id:?} stored twice");
                }
            }
            tree
        }
    }

    impl HashReader for MemoryTree {
        type Error = Infallible;
        fn read_hashes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, Infallible> {
            Ok(nodes.iter().map(|id| self.nodes[id]).collect())
        }
    }

    /// RFC 6962 §2.1 MTH, computed the slow, obviously-correct way.
    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    fn synthetic_leaves(count: usize) -> Vec<Vec<u8>> {
        (0..count).map(|i| format!("leaf {i}").into_bytes()).collect()
    }

    fn ok<T>(result: Result<T, Infallible>) -> T {
        match result {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }

    struct KnownAnswers {
        leaves: Vec<Vec<u8>>,
        roots: Vec<Hash>,
        inclusion: Vec<(u64, u64, Vec<Hash>)>,
        consistency: Vec<(u64, u64, Vec<Hash>)>,
    }

    fn hash_from_hex(text: &serde_json::Value) -> Hash {
        let bytes = hex::decode(text.as_str().unwrap_or_default()).unwrap_or_default();
        bytes
            .try_into()
            .unwrap_or_else(|_| panic!("known answer {text} is not 32 bytes"))
    }

    fn proofs(json: &serde_json::Value, a: &str, b: &str) -> Vec<(u64, u64, Vec<Hash>)> {
        let rows = json.as_array().unwrap_or_else(|| panic!("proof list missing"));
        rows.iter()
            .map(|row| {
                let proof = row["proof"].as_array().map(|p| p.iter().map(hash_from_hex).collect());
                (
                    row[a].as_u64().unwrap_or(0),
                    row[b].as_u64().unwrap_or(0),
                    proof.unwrap_or_default(),
                )
            })
            .collect()
    }

    fn known_answers() -> KnownAnswers {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rfc6962-and-signed-note.json");
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        let leaves = json["leaf_inputs_hex"].as_array().map(|a| {
            a.iter()
                .map(|h| hex::decode(h.as_str().unwrap_or_default()).unwrap_or_default())
                .collect()
        });
        KnownAnswers {
            leaves: leaves.unwrap_or_default(),
            roots: (0..=8)
                .map(|n| hash_from_hex(&json["roots_hex"][n.to_string()]))
                .collect(),
            inclusion: proofs(&json["inclusion"], "leaf_index", "tree_size"),
            consistency: proofs(&json["consistency"], "size1", "size2"),
        }
    }

    #[test]
    fn known_answer_roots_for_sizes_0_to_8() {
        let answers = known_answers();
        assert_eq!(answers.leaves.len(), 8);
        for size in 0..=8usize {
            let tree = MemoryTree::with_leaves(&answers.leaves[..size]);
            assert_eq!(tree.frontier.root(), answers.roots[size], "root of size {size}");
            assert_eq!(
                ok(root_at(size as u64, &tree)),
                answers.roots[size],
                "stored root of size {size}"
            );
        }
    }

    #[test]
    fn known_answer_inclusion_proofs() {
        let answers = known_answers();
        assert_eq!(answers.inclusion.len(), 36, "every index of every size up to 8");
        for (index, size, expected) in &answers.inclusion {
            let tree = MemoryTree::with_leaves(&answers.leaves[..*size as usize]);
            let proof = ok(resolve_plan(&inclusion_plan(LeafIndex(*index), TreeSize(*size)), &tree));
            assert_eq!(&proof, expected, "inclusion {index}@{size}");
            let leaf = leaf_hash(&answers.leaves[*index as usize]);
            assert!(verify_inclusion(
                &leaf,
                *index,
                *size,
                expected,
                &answers.roots[*size as usize]
            ));
        }
    }

    #[test]
    fn known_answer_consistency_proofs() {
        let answers = known_answers();
        assert_eq!(answers.consistency.len(), 36, "every m <= n up to 8");
        let tree = MemoryTree::with_leaves(&answers.leaves);
        for (old, new, expected) in &answers.consistency {
            let tree_at_new = MemoryTree::with_leaves(&answers.leaves[..*new as usize]);
            let proof = ok(resolve_plan(
                &consistency_plan(TreeSize(*old), TreeSize(*new)),
                &tree_at_new,
            ));
            assert_eq!(&proof, expected, "consistency {old}->{new}");
            let (old_root, new_root) = (&answers.roots[*old as usize], &answers.roots[*new as usize]);
            assert!(verify_consistency(*old, *new, expected, old_root, new_root));
            // A larger stored tree answers for its prefixes too.
            assert_eq!(
                &ok(resolve_plan(&consistency_plan(TreeSize(*old), TreeSize(*new)), &tree)),
                expected
            );
        }
    }

    #[test]
    fn every_index_of_every_size_verifies_and_roots_match_the_reference() {
        let leaves = synthetic_leaves(130);
        let tree = MemoryTree::with_leaves(&leaves);
        let hashes: Vec<Hash> = leaves.iter().map(|l| leaf_hash(l)).collect();
        for size in 1..=leaves.len() as u64 {
            let root = reference_root(&hashes[..size as usize]);
            assert_eq!(ok(root_at(size, &tree)), root, "root of size {size}");
            for index in 0..size {
                let proof = ok(resolve_plan(&inclusion_plan(LeafIndex(index), TreeSize(size)), &tree));
                assert!(verify_inclusion(&hashes[index as usize], index, size, &proof, &root));
                let other_leaf = &hashes[((index + 1) % size) as usize];
                assert_eq!(verify_inclusion(other_leaf, index, size, &proof, &root), size == 1);
            }
        }
    }

    #[test]
    fn every_smaller_size_is_consistent_with_every_larger() {
        let leaves = synthetic_leaves(70);
        let tree = MemoryTree::with_leaves(&leaves);
        let roots: Vec<Hash> = (0..=70).map(|n| ok(root_at(n, &tree))).collect();
        for new in 1..=70u64 {
            for old in 1..=new {
                let proof = ok(resolve_plan(&consistency_plan(TreeSize(old), TreeSize(new)), &tree));
                assert!(verify_consistency(
                    old,
                    new,
                    &proof,
                    &roots[old as usize],
                    &roots[new as usize]
                ));
            }
        }
    }

    #[test]
    fn stored_nodes_per_append_are_bounded_by_log_n() {
        let mut frontier = Frontier::default();
        for i in 0..1000u64 {
            let completed = frontier.push(leaf_hash(&i.to_be_bytes()));
            assert_eq!(completed.len() as u32, 1 + i.trailing_ones(), "leaf {i}");
            assert!(completed.len() as u32 <= 1 + 64 - i.leading_zeros());
        }
    }

    #[test]
    fn roots_from_chunks_are_the_tree_roots() {
        const CHUNK: u64 = 1024;
        for size in [1u64, 2, 3, 1023, 1024, 1025, 2048, 3000, 4097] {
            let leaves: Vec<Hash> = (0..size).map(|i| leaf_hash(&i.to_be_bytes())).collect();
            let mut frontier = Frontier::default();
            for leaf in &leaves {
                frontier.push(*leaf);
            }
            let chunks: Vec<Hash> = leaves.chunks(CHUNK as usize).map(subtree_root).collect();
            assert_eq!(subtree_root(&leaves), frontier.root(), "size {size}");
            assert_eq!(
                root_of_chunks(&chunks, TreeSize(size), CHUNK),
                frontier.root(),
                "size {size}"
            );
        }
    }

    #[test]
    fn malformed_verification_inputs_are_refused() {
        let leaf = leaf_hash(b"x");
        assert!(!verify_inclusion(&leaf, 3, 3, &[], &leaf), "index past the tree");
        assert!(!verify_consistency(0, 3, &[], &leaf, &leaf), "from the empty tree");
        assert!(!verify_consistency(4, 3, &[], &leaf, &leaf), "shrinking tree");
        assert!(
            !verify_consistency(3, 5, &[], &leaf, &leaf),
            "empty proof between different sizes"
        );
    }

    proptest! {
        #[test]
        fn any_flipped_bit_breaks_an_inclusion_proof(size in 2u64..300, seed in any::<u64>(), bit in 0usize..256) {
            let leaves = synthetic_leaves(size as usize);
            let tree = MemoryTree::with_leaves(&leaves);
            let index = seed % size;
            let root = tree.frontier.root();
            let mut proof = ok(resolve_plan(&inclusion_plan(LeafIndex(index), TreeSize(size)), &tree));
            let leaf = leaf_hash(&leaves[index as usize]);
            prop_assert!(verify_inclusion(&leaf, index, size, &proof, &root));
            let victim = (seed as usize / 7) % proof.len();
            proof[victim][bit / 8] ^= 1 << (bit % 8);
            prop_assert!(!verify_inclusion(&leaf, index, size, &proof, &root));
        }

        #[test]
        fn any_flipped_bit_breaks_a_consistency_proof(new in 2u64..300, seed in any::<u64>(), bit in 0usize..256) {
            let leaves = synthetic_leaves(new as usize);
            let tree = MemoryTree::with_leaves(&leaves);
            let old = 1 + seed % (new - 1);
            let (old_root, new_root) = (ok(root_at(old, &tree)), tree.frontier.root());
            let mut proof = ok(resolve_plan(&consistency_plan(TreeSize(old), TreeSize(new)), &tree));
            prop_assert!(verify_consistency(old, new, &proof, &old_root, &new_root));
            let victim = (seed as usize / 7) % proof.len();
            proof[victim][bit / 8] ^= 1 << (bit % 8);
            prop_assert!(!verify_consistency(old, new, &proof, &old_root, &new_root));
        }

        #[test]
        fn frontier_reloaded_from_storage_continues_identically(size in 0u64..200, more in 1u64..50) {
            let leaves = synthetic_leaves((size + more) as usize);
            let tree = MemoryTree::with_leaves(&leaves[..size as usize]);
            let mut reloaded = ok(Frontier::load(size, &tree));
            prop_assert_eq!(&reloaded, &tree.frontier);
            for leaf in &leaves[size as usize..] {
                reloaded.push(leaf_hash(leaf));
            }
            prop_assert_eq!(reloaded.root(), MemoryTree::with_leaves(&leaves).frontier.root());
        }
    }
}
