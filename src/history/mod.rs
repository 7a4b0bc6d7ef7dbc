//! What a file looked like through its versions, read without any key: each version's key map
//! (key path → stored value text) and metadata, and what changed between two versions.

pub mod keymap;
