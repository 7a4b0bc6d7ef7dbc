//! Process hygiene: a command that handles plaintext runs with core dumps disabled, and so does
//! the command `exec-file` runs for it.

use crate::util::{Env, ok};

/// The "Max core file size" soft and hard limits in a /proc/<pid>/limits text.
fn core_limits(limits: &str) -> Vec<String> {
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap_or_else(|| panic!("no core limit in {limits}"));
    line.split_whitespace()
        .skip(4)
        .take(2)
        .map(String::from)
        .collect()
}

#[test]
fn core_dumps_are_disabled_in_secrets_and_its_child() {
    let env = Env::new();
    env.write("p.yaml", "k: Canary-h7\n");
    let enc = ok(env
        .secrets()
        .args(["encrypt", "--age", &env.recipient, "p.yaml"]));
    env.write("f.yaml", enc);
    // Start with a non-zero soft limit, so the test shows `secrets` lowering it.
    let cmd = env.secrets_with_key();
    let bin = cmd.get_program().to_owned();
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c")
        .arg("ulimit -S -c 4096 && exec \"$@\"")
        .arg("sh")
        .arg(bin)
        .args(["exec-file", "f.yaml", "--", "sh", "-c"])
        .arg("cat /proc/$PPID/limits; echo ===; cat /proc/self/limits")
        .env_clear()
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .current_dir(env.dir.path());
    let out = String::from_utf8(ok(&mut sh)).unwrap();
    let (parent, child) = out.split_once("===").unwrap();
    assert_eq!(core_limits(parent), ["0", "0"], "secrets: {parent}");
    assert_eq!(core_limits(child), ["0", "0"], "its child: {child}");
    // Without secrets in between, the soft limit is what the shell set.
    let plain = std::process::Command::new("sh")
        .args(["-c", "ulimit -S -c 4096 && cat /proc/self/limits"])
        .output()
        .unwrap();
    let limits = core_limits(&String::from_utf8(plain.stdout).unwrap());
    assert_ne!(limits[0], "0", "the shell could not raise the limit");
}
