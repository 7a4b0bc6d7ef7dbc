//! The walk and the index against real repositories made by the `git` command line.

use std::path::Path;
use std::process::Command;

use super::*;

fn git(dir: &Path, args: &[&str], date: &str) {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Alice")
        .env("GIT_AUTHOR_EMAIL", "alice@example.com")
        .env("GIT_COMMITTER_NAME", "Alice")
        .env("GIT_COMMITTER_EMAIL", "alice@example.com")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

fn write(dir: &Path, path: &str, text: &str) {
    let full = dir.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, text).unwrap();
}

fn commit(dir: &Path, message: &str, date: &str) {
    git(dir, &["add", "-A"], date);
    git(dir, &["commit", "-q", "--allow-empty", "-m", message], date);
}

/// create, edit, unrelated, rename, edit, empty commit.
fn history() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    git(dir, &["init", "-q", "-b", "main"], "2026-01-01T00:00:00Z");
    write(dir, "config/secrets.yaml", "a: 1\n");
    commit(dir, "create", "2026-01-01T10:00:00+01:00");
    write(dir, "config/secrets.yaml", "a: 2\n");
    commit(dir, "edit a", "2026-01-02T10:00:00Z");
    write(dir, "README", "hello\n");
    commit(dir, "unrelated", "2026-01-03T10:00:00Z");
    std::fs::create_dir_all(dir.join("deploy")).unwrap();
    git(
        dir,
        &["mv", "config/secrets.yaml", "deploy/prod.yaml"],
        "2026-01-04T10:00:00Z",
    );
    commit(dir, "move", "2026-01-04T10:00:00Z");
    write(dir, "deploy/prod.yaml", "a: 3\n");
    commit(dir, "edit again", "2026-01-05T10:00:00Z");
    commit(dir, "empty", "2026-01-06T10:00:00Z");
    tmp
}

#[test]
fn versions_follow_content_changes_and_renames() {
    let tmp = history();
    let repo = Repo::discover(&tmp.path().join("deploy/prod.yaml")).unwrap();
    let path = repo
        .relative_path(&tmp.path().join("deploy/prod.yaml"))
        .unwrap();
    assert_eq!(path, "deploy/prod.yaml");
    let versions = repo.file_versions(&path, &WalkOptions::default()).unwrap();
    let summaries: Vec<&str> = versions.iter().map(|v| v.commit.summary.as_str()).collect();
    assert_eq!(summaries, ["edit again", "move", "edit a", "create"]);
    assert_eq!(
        versions[1].renamed_from.as_deref(),
        Some("config/secrets.yaml")
    );
    assert_eq!(versions[2].path, "config/secrets.yaml");
    assert_eq!(versions[3].parent_blobs, Vec::<Option<ObjectId>>::new());
    assert_eq!(repo.read_blob(versions[2].blob).unwrap(), b"a: 2\n");
    assert_eq!(versions[3].commit.author_name, "Alice");
    assert_eq!(
        format_date(
            versions[3].commit.author_time,
            versions[3].commit.author_offset
        ),
        "2026-01-01 10:00 +01:00"
    );
    assert_eq!(versions[0].commit.signature, None);

    let limited = repo
        .file_versions(
            &path,
            &WalkOptions {
                max_versions: Some(2),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(limited.len(), 2);
}

#[test]
fn file_at_reads_revisions_and_the_index() {
    let tmp = history();
    let dir = tmp.path();
    let repo = Repo::discover(dir).unwrap();
    assert_eq!(
        repo.file_at("HEAD~4", "config/secrets.yaml")
            .unwrap()
            .unwrap(),
        b"a: 2\n"
    );
    assert_eq!(repo.file_at("HEAD", "config/secrets.yaml").unwrap(), None);
    assert!(matches!(
        repo.file_at("nope", "x"),
        Err(Error::RevNotFound { .. })
    ));
    write(dir, "deploy/prod.yaml", "a: 4\n");
    git(dir, &["add", "deploy/prod.yaml"], "2026-01-07T10:00:00Z");
    write(dir, "deploy/prod.yaml", "a: 5\n");
    assert_eq!(
        repo.file_at(STAGED, "deploy/prod.yaml").unwrap().unwrap(),
        b"a: 4\n"
    );
}

#[test]
fn staged_changes_compare_the_index_with_head() {
    let tmp = history();
    let dir = tmp.path();
    write(dir, "deploy/prod.yaml", "a: 9\n");
    write(dir, "new.env", "X=1\n");
    write(dir, "unstaged.txt", "not added\n");
    git(
        dir,
        &["add", "deploy/prod.yaml", "new.env"],
        "2026-01-07T10:00:00Z",
    );
    git(dir, &["rm", "-q", "README"], "2026-01-07T10:00:00Z");
    let repo = Repo::discover(dir).unwrap();
    let changes: Vec<(String, StagedKind)> = repo
        .staged_changes()
        .unwrap()
        .into_iter()
        .map(|c| (c.path, c.kind))
        .collect();
    assert_eq!(
        changes,
        [
            ("README".to_string(), StagedKind::Deleted),
            ("deploy/prod.yaml".to_string(), StagedKind::Modified),
            ("new.env".to_string(), StagedKind::Added),
        ]
    );
}

#[test]
fn the_first_commit_stages_against_the_empty_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    git(dir, &["init", "-q"], "2026-01-01T00:00:00Z");
    write(dir, "a.yaml", "a: 1\n");
    git(dir, &["add", "a.yaml"], "2026-01-01T00:00:00Z");
    let repo = Repo::discover(dir).unwrap();
    assert_eq!(repo.head_commit().unwrap(), None);
    let changes = repo.staged_changes().unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].kind, StagedKind::Added);
    assert!(
        repo.file_versions("a.yaml", &WalkOptions::default())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn merges_that_carry_one_side_are_not_versions() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    git(dir, &["init", "-q", "-b", "main"], "2026-01-01T00:00:00Z");
    write(dir, "s.yaml", "a: 1\n");
    commit(dir, "create", "2026-01-01T10:00:00Z");
    git(
        dir,
        &["checkout", "-q", "-b", "feature"],
        "2026-01-01T10:00:00Z",
    );
    write(dir, "s.yaml", "a: 2\n");
    commit(dir, "feature edit", "2026-01-02T10:00:00Z");
    git(dir, &["checkout", "-q", "main"], "2026-01-02T10:00:00Z");
    write(dir, "other", "x\n");
    commit(dir, "main work", "2026-01-03T10:00:00Z");
    git(
        dir,
        &["merge", "-q", "--no-edit", "feature"],
        "2026-01-04T10:00:00Z",
    );
    let repo = Repo::discover(dir).unwrap();
    let versions = repo
        .file_versions("s.yaml", &WalkOptions::default())
        .unwrap();
    let summaries: Vec<&str> = versions.iter().map(|v| v.commit.summary.as_str()).collect();
    assert_eq!(summaries, ["feature edit", "create"]);
}

#[test]
fn outside_paths_and_non_repositories_are_errors() {
    let tmp = history();
    let repo = Repo::discover(tmp.path()).unwrap();
    assert!(matches!(
        repo.relative_path(Path::new("/")),
        Err(Error::OutsideRepository { .. })
    ));
    let plain = tempfile::tempdir().unwrap();
    std::fs::write(plain.path().join("GIT_CEILING"), "").unwrap();
    // A folder with no repository above it up to the filesystem root is not a repository; the
    // test temp dir may itself sit inside one, so only check the error type when it is not.
    if let Err(e) = Repo::discover(plain.path()) {
        assert!(matches!(e, Error::NotARepository { .. }));
    }
}
