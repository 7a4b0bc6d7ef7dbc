#!/usr/bin/env python3
"""History benchmark: `secrets log` and `secrets stale` (release build) against
`git log --format=%h -- FILE` on the same repository, in the same run.

Builds, with `git fast-import`, a repository of 10,000 commits by three authors where
`deploy/secrets/prod.yaml` (200 encrypted values, about 25 KB) changes in 500 of them (one value,
plus `mac` and `lastmodified`, as `secrets set` writes it); the other commits touch 2,100 other
files. The starting file is encrypted by `secrets` itself; later values are fresh random
`ENC[...]` strings (the keyless commands never decrypt). Usage, from the repository root:

    python3 bench/history.py [--runs 5] [--commits 10000] [--versions 500] [--keys 200]
                             [--secrets-bin PATH]

The repository goes to target/bench-history/ (ignored by git) and is reused when its
parameters match. Prints the median of --runs timings of each command, and the ratios.
"""
import argparse, base64, os, random, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILE = "deploy/secrets/prod.yaml"


def target_dir():
    return os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")


def enc(rng, n):
    b64 = lambda k: base64.b64encode(rng.randbytes(k)).decode()
    return f"ENC[AES256_GCM,data:{b64(n)},iv:{b64(32)},tag:{b64(16)},type:str]"


def build_repo(path, secrets, commits, versions, keys):
    rng = random.Random(42)
    os.makedirs(path)
    env = dict(os.environ, SOPS_AGE_KEY_FILE=os.path.join(ROOT, "fixtures/keys/test-key.txt"))
    recipient = open(os.path.join(ROOT, "fixtures/keys/test-key.txt")).read().split("public key: ")[1].split()[0]
    plain = os.path.join(path, "plain.yaml")
    with open(plain, "w") as f:
        for i in range(keys):
            if i % 20 == 0:
                f.write(f"service_{i // 20:02d}:\n")
            f.write(f"    key_{i:03d}: value-{i:03d}-{rng.randrange(10**12):012d}-padding-padding\n")
    first = subprocess.run([secrets, "encrypt", "--age", recipient, plain], env=env,
                           check=True, capture_output=True).stdout.decode()
    os.remove(plain)
    lines = first.splitlines(keepends=True)
    value_lines = [i for i, l in enumerate(lines) if "key_" in l and "ENC[" in l]
    mac_line = next(i for i, l in enumerate(lines) if l.lstrip().startswith("mac:"))
    lm_line = next(i for i, l in enumerate(lines) if l.lstrip().startswith("lastmodified:"))

    subprocess.run(["git", "init", "-q", "-b", "main", path], check=True)
    authors = ["Alice <alice@example.com>", "Bob <bob@example.com>", "Carol <carol@example.com>"]
    change_at = set(rng.sample(range(1, commits), versions - 1))
    out = []

    def blob(data):
        data = data.encode()
        out.append(b"data %d\n" % len(data))
        out.append(data)
        out.append(b"\n")

    t0 = 1_700_000_000
    for c in range(commits):
        who = authors[c % 3]
        when = t0 + c * 600
        msg = f"commit {c}"
        out.append(f"commit refs/heads/main\nmark :{c + 1}\n"
                   f"author {who} {when} +0000\ncommitter {who} {when} +0000\n".encode())
        blob(msg)
        if c > 0:
            out.append(f"from :{c}\n".encode())
        if c == 0:
            for i in range(2100):
                out.append(f"M 100644 inline other/file_{i:04d}.txt\n".encode())
                blob(f"file {i}\n")
            out.append(f"M 100644 inline {FILE}\n".encode())
            blob("".join(lines))
        elif c in change_at:
            i = rng.choice(value_lines)
            key = lines[i].split(":")[0]
            lines[i] = f"{key}: {enc(rng, 40)}\n"
            lines[mac_line] = f"    mac: {enc(rng, 64)}\n"
            lines[lm_line] = f'    lastmodified: "2024-01-01T00:{c // 600 % 60:02d}:{c % 60:02d}Z"\n'
            out.append(f"M 100644 inline {FILE}\n".encode())
            blob("".join(lines))
        else:
            i = rng.randrange(2100)
            out.append(f"M 100644 inline other/file_{i:04d}.txt\n".encode())
            blob(f"file {i} changed in {c}\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input=b"".join(out), check=True)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=path, check=True)
    subprocess.run(["git", "reset", "-q", "--hard"], cwd=path, check=True)


def timed(cmd, cwd):
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0,):
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr.decode(errors='replace')}")
    return elapsed, proc.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--commits", type=int, default=10_000)
    ap.add_argument("--versions", type=int, default=500)
    ap.add_argument("--keys", type=int, default=200)
    ap.add_argument("--secrets-bin")
    args = ap.parse_args()

    secrets = args.secrets_bin
    if not secrets:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        secrets = os.path.join(target_dir(), "release", "secrets")
    base = os.path.join(ROOT, "target", "bench-history")
    repo = os.path.join(base, f"repo-{args.commits}-{args.versions}-{args.keys}")
    if not os.path.isdir(repo):
        os.makedirs(base, exist_ok=True)
        t = time.perf_counter()
        build_repo(repo, secrets, args.commits, args.versions, args.keys)
        print(f"built {repo} in {time.perf_counter() - t:.1f} s")

    # Sanity: both see the same number of versions.
    _, git_out = timed(["git", "log", "--format=%h", "--", FILE], repo)
    _, log_out = timed([secrets, "log", FILE, "--all"], repo)
    n_git = len(git_out.splitlines())
    n_ours = sum(1 for l in log_out.decode().splitlines() if l and not l.startswith(" "))
    size = os.path.getsize(os.path.join(repo, FILE))
    print(f"{args.commits} commits, {FILE}: {size} bytes, {args.keys} keys, "
          f"{n_git} versions (git log), {n_ours} (secrets log --all)")

    cases = [
        ("git log --format=%h -- FILE", ["git", "log", "--format=%h", "--", FILE]),
        ("secrets log FILE", [secrets, "log", FILE]),
        ("secrets stale FILE", [secrets, "stale", FILE, "--older-than", "90d"]),
    ]
    samples = {name: [] for name, _ in cases}
    for _ in range(args.runs):  # interleaved, so load on the box hits all alike
        for name, cmd in cases:
            samples[name].append(timed(cmd, repo)[0])
    ref = statistics.median(samples[cases[0][0]])
    print(f"{'command':<30} {'median':>9} {'min':>9} {'ratio to git log':>17}")
    for name, _ in cases:
        med = statistics.median(samples[name])
        print(f"{name:<30} {med * 1000:7.0f} ms {min(samples[name]) * 1000:6.0f} ms {med / ref:16.1f}x")


if __name__ == "__main__":
    main()
