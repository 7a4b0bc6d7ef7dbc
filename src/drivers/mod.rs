//! Git drivers for encrypted files: the views `git diff` shows through textconv (decrypted or
//! redacted, key-sorted), the `.gitattributes` block `secrets git setup` manages, and the
//! per-key three-way merge of the merge driver. Nothing here prints, reads the environment or
//! runs Git: `cli::git` does, and hands plain values in.

pub mod attributes;
pub mod merge;
pub mod view;
