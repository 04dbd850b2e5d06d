//! Property tests of the projection (see the helper's brief).
