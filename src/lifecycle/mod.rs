//! The secret lifecycle: values generated from a CSPRNG (`generate`), typed policies from the
//! `secrets:` section of `.sops.yaml` (`config::policy`), and the checks CI gates on (`check`).

pub mod check;
pub mod generate;
