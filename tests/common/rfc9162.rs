//! An independent implementation of RFC 6962 / 9162 tree hashing and proof
//! checking, written from the recursive definitions (not the iterative
//! algorithms the library uses), so a bug in one is not repeated in the other.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

pub fn leaf(data: &[u8]) -> Hash {
    Sha256::new().chain_update([0u8]).chain_update(data).finalize().into()
}

fn node(left: &Hash, right: &Hash) -> Hash {
    Sha256::new()
        .chain_update([1u8])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

fn split(n: u64) -> u64 {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]) over leaf hashes.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = split(n as u64) as usize;
            node(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The root implied by an inclusion proof (PATH, deepest sibling first).
fn root_from_path(index: u64, size: u64, leaf: Hash, proof: &[Hash]) -> Option<Hash> {
    if size == 1 {
        return proof.is_empty().then_some(leaf);
    }
    let (sibling, rest) = proof.split_last()?;
    let k = split(size);
    if index < k {
        Some(node(&root_from_path(index, k, leaf, rest)?, sibling))
    } else {
        Some(node(sibling, &root_from_path(index - k, size - k, leaf, rest)?))
    }
}

pub fn inclusion_ok(index: u64, size: u64, leaf: Hash, proof: &[Hash], expected: &Hash) -> bool {
    index < size && root_from_path(index, size, leaf, proof).as_ref() == Some(expected)
}

/// The (old, new) roots implied by SUBPROOF(m, D[n], whole).
fn roots_from_subproof(m: u64, n: u64, whole: bool, proof: &[Hash], old_root: &Hash) -> Option<(Hash, Hash)> {
    if m == n {
        return if whole {
            proof.is_empty().then_some((*old_root, *old_root))
        } else {
            (proof.len() == 1).then(|| (proof[0], proof[0]))
        };
    }
    let (last, rest) = proof.split_last()?;
    let k = split(n);
    if m <= k {
        let (old, new) = roots_from_subproof(m, k, whole, rest, old_root)?;
        Some((old, node(&new, last)))
    } else {
        let (old, new) = roots_from_subproof(m - k, n - k, false, rest, old_root)?;
        Some((node(last, &old), node(last, &new)))
    }
}

pub fn consistency_ok(m: u64, n: u64, proof: &[Hash], old_root: &Hash, new_root: &Hash) -> bool {
    if m == 0 || m > n {
        return false;
    }
    roots_from_subproof(m, n, true, proof, old_root) == Some((*old_root, *new_root))
}
