#!/usr/bin/env python3
"""Encrypt/decrypt benchmark: `secrets` (release build) against sops 3.11 in the same run.

Generates JSON and YAML files with N string values (default 10,000 and 100,000), times
encrypt and decrypt of each with both tools, and prints medians, peak memory (max RSS) and
ratios. Usage (from the repository root):

    python3 bench/compare.py [--sizes 10000,100000] [--runs 5] [--sops-runs-large 1]
    python3 bench/compare.py --only-exec-env [--secrets-bin target/debug/secrets]

It also measures `exec-env` overhead over running `true` directly, for a file with 100 values,
against `sops exec-env` in the same run (floor: 10 ms).

It builds `target/release/secrets` and installs sops via scripts/install-test-tools.sh (into
target/, ignored by git). Optional peer: `--rops` installs rops-cli from crates.io into
bench/peers/ (ignored) and times it too (a long build on 2 cores).
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


GNU_TIME = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None


def run_timed(cmd, env, stdout_path=None):
    """Run cmd; return (seconds, max RSS in MiB, CPU seconds). Fails loudly on a non-zero exit.

    The peak RSS comes from GNU time when it is installed: a child forked from this Python
    process inherits Python's resident size as its high-water mark (Linux keeps the larger of
    the pre-exec and post-exec peaks), which would put a floor of this script's own size (30+
    MiB after generating a large file) under every figure. time's fork costs ~1 ms of wall time."""
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    rss_file = None
    if GNU_TIME:
        fd, rss_file = tempfile.mkstemp(prefix="rss-")
        os.close(fd)
        cmd = [GNU_TIME, "-f", "%M %U %S", "-o", rss_file] + cmd
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    if stdout_path:
        out.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{err}")
    if rss_file:
        with open(rss_file) as f:
            rss_kib, user, system = f.read().split()[-3:]
        os.unlink(rss_file)
        return elapsed, int(rss_kib) / 1024, float(user) + float(system)
    return elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def generate(kind, n, path):
    """n string values in sections of 100 keys (one huge mapping makes sops quadratic, which
    would measure that rather than the per-value work)."""
    value = lambda i: f"value-{i:06d}-s3cr3t-{i * 7919 % 100003:05d}"
    if kind == "json":
        data = {}
        for i in range(n):
            data.setdefault(f"service_{i // 100:04d}", {})[f"key_{i:06d}"] = value(i)
        with open(path, "w") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
    else:
        with open(path, "w") as f:
            f.write("# generated for the benchmark\n")
            for i in range(n):
                if i % 100 == 0:
                    f.write(f"service_{i // 100:04d}:\n")
                f.write(f"  key_{i:06d}: {value(i)}\n")


def median_of(runs, fn):
    samples = [fn() for _ in range(runs)]
    return statistics.median(s[0] for s in samples), max(s[1] for s in samples), statistics.median(s[2] for s in samples)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sops-runs-large", type=int, default=1, help="sops runs for sizes >= 50,000 (it takes ~40 s each)")
    ap.add_argument("--rops", action="store_true")
    ap.add_argument("--set-values", type=int, default=100000, help="values in the file for the `set` case (0 skips it)")
    ap.add_argument("--updatekeys-files", type=int, default=1000, help="files for the `updatekeys --all` case (0 skips it)")
    ap.add_argument("--exec-env-runs", type=int, default=20, help="runs for the exec-env overhead case (0 skips it)")
    ap.add_argument("--only-exec-env", action="store_true", help="run only the exec-env overhead case")
    ap.add_argument("--secrets-bin", help="use this secrets binary instead of building target/release/secrets")
    args = ap.parse_args()

    if not args.secrets_bin:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    subprocess.run(["bash", "scripts/install-test-tools.sh"], cwd=ROOT, check=True, stderr=subprocess.DEVNULL)
    secrets = args.secrets_bin or os.path.join(ROOT, "target/release/secrets")
    sops = os.path.join(ROOT, "target/sops-venv/bin/sops")
    tools = {"secrets": secrets, "sops": sops}
    if args.rops:
        peers = os.path.join(ROOT, "bench/peers")
        if not os.path.exists(os.path.join(peers, "bin/rops")):
            subprocess.run(["cargo", "install", "--quiet", "--root", peers, "rops-cli"], check=True)
        tools["rops"] = os.path.join(peers, "bin/rops")

    work = tempfile.mkdtemp(prefix="secrets-bench-")
    key = os.path.join(work, "key.txt")
    subprocess.run([secrets, "keygen", "-o", key], check=True, stderr=subprocess.DEVNULL)
    recipient = [l.split(": ")[1].strip() for l in open(key) if l.startswith("# public key: ")][0]
    env = dict(os.environ, SOPS_AGE_KEY_FILE=key, SOPS_DISABLE_VERSION_CHECK="1", ROPS_AGE=open(key).read().splitlines()[-1])

    if args.exec_env_runs:
        bench_exec_env(args.exec_env_runs, secrets, sops, recipient, env, work)
    if args.only_exec_env:
        shutil.rmtree(work)
        return
    print(f"machine: {os.cpu_count()} cores; runs: {args.runs} (median); time in seconds, peak RSS in MiB")
    print(f"{'case':<22}{'tool':<9}{'encrypt s':>11}{'RSS':>8}{'decrypt s':>11}{'RSS':>8}{'enc size MiB':>14}")
    results = {}
    for kind in ("json", "yaml"):
        for n in [int(s) for s in args.sizes.split(",")]:
            plain = os.path.join(work, f"bench-{n}.{kind}")
            generate(kind, n, plain)
            for tool, exe in tools.items():
                runs = args.runs if (tool != "sops" or n < 50000) else args.sops_runs_large
                enc = os.path.join(work, f"bench-{n}.{tool}.enc.{kind}")
                if tool == "rops":
                    enc_cmd = [exe, "encrypt", "--age", recipient, plain]
                    dec_cmd = [exe, "decrypt", enc]
                else:
                    enc_cmd = [exe, "encrypt", "--age", recipient, plain]
                    dec_cmd = [exe, "decrypt", enc]
                e_t, e_m, e_c = median_of(runs, lambda: run_timed(enc_cmd, env, enc))
                d_t, d_m, d_c = median_of(runs, lambda: run_timed(dec_cmd, env))
                size = os.path.getsize(enc) / 2**20
                results[(kind, n, tool)] = (e_t, d_t)
                print(f"{kind + ' ' + format(n, ','):<22}{tool:<9}{e_t:>11.3f}{e_m:>8.1f}{d_t:>11.3f}{d_m:>8.1f}{size:>14.2f}   cpu {e_c:.3f}/{d_c:.3f} s", flush=True)
    if args.set_values:
        bench_set(args.set_values, secrets, sops, recipient, env, work, results, args.runs)
    if args.updatekeys_files:
        bench_updatekeys(args.updatekeys_files, secrets, sops, key, recipient, env, work, results)
    print("\nratios (peer time / secrets time; higher means secrets is faster):")
    for (kind, n, tool), (e_t, d_t) in results.items():
        if tool == "secrets" or kind == "updatekeys" or kind.startswith("set"):
            continue
        s_e, s_d = results[(kind, n, "secrets")]
        print(f"  {kind} {n:,} vs {tool}: encrypt {e_t / s_e:.1f}x, decrypt {d_t / s_d:.1f}x")
    if ("updatekeys", args.updatekeys_files, "sops") in results:
        ours = results[("updatekeys", args.updatekeys_files, "secrets")][0]
        theirs = results[("updatekeys", args.updatekeys_files, "sops")][0]
        print(f"  updatekeys over {args.updatekeys_files:,} files vs sops (one call per file): {theirs / ours:.1f}x")
    for kind in ("yaml", "json"):
        if ("set-" + kind, args.set_values, "sops") in results:
            ours = results[("set-" + kind, args.set_values, "secrets")][0]
            theirs = results[("set-" + kind, args.set_values, "sops")][0]
            verdict = "within" if ours <= 0.1 else "ABOVE"
            print(f"  set of one value in {args.set_values:,} {kind} values vs sops set: {theirs / ours:.1f}x (secrets {ours:.3f} s, {verdict} the 0.1 s floor)")
    shutil.rmtree(work)


def bench_set(n, secrets, sops, recipient, env, work, results, runs):
    """`secrets set` of one value in a YAML and a JSON file with n values, against `sops set` on
    a file sops encrypted itself. Each run sets a different value, so every run writes the file."""
    for kind in ("yaml", "json"):
        bench_set_kind(kind, n, secrets, sops, recipient, env, work, results, runs)


def bench_set_kind(kind, n, secrets, sops, recipient, env, work, results, runs):
    plain = os.path.join(work, f"set-{n}.{kind}")
    generate(kind, n, plain)
    timings = {}
    for tool, exe in (("secrets", secrets), ("sops", sops)):
        enc = os.path.join(work, f"set-{n}.{tool}.{kind}")
        run_timed([exe, "encrypt", "--age", recipient, plain], env, enc)
        tool_runs = runs if tool == "secrets" else 1
        samples = []
        for r in range(tool_runs):
            value = f"changed-{r}"
            cmd = [exe, "set", enc, '["service_0000"]["key_000042"]', json.dumps(value)]
            samples.append(run_timed(cmd, env))
        timings[tool] = statistics.median(s[0] for s in samples)
        rss = max(s[1] for s in samples)
        cpu = statistics.median(s[2] for s in samples)
        results[("set-" + kind, n, tool)] = (timings[tool], 0.0)
        print(f"{'set 1 of ' + format(n, ',') + ' ' + kind:<22}{tool:<9}{timings[tool]:>11.3f}{rss:>8.1f}   cpu {cpu:.3f} s", flush=True)


def bench_exec_env(runs, secrets, sops, recipient, env, work):
    """Overhead of `exec-env` over running the command directly, for a file with 100 values:
    median wall time of `secrets exec-env F -- true` and `sops exec-env F true` minus that of
    `true` alone, measured in the same run. The floor is 10 ms for secrets."""
    plain = os.path.join(work, "exec-100.yaml")
    with open(plain, "w") as f:
        for i in range(100):
            f.write(f"KEY_{i:03d}: value-{i:03d}-s3cr3t-{i * 7919 % 100003:05d}\n")
    enc = os.path.join(work, "exec-100.enc.yaml")
    with open(enc, "wb") as out:
        subprocess.run([secrets, "encrypt", "--age", recipient, plain], env=env, stdout=out, check=True)
    true = shutil.which("true")
    cases = {
        "direct": [true],
        "secrets": [secrets, "exec-env", enc, "--", true],
        "sops": [sops, "exec-env", enc, true],
    }
    medians = {}
    for name, cmd in cases.items():
        run_timed(cmd, env)  # warm the page cache
        medians[name] = statistics.median(run_timed(cmd, env)[0] for _ in range(runs))
    base = medians["direct"]
    ours = (medians["secrets"] - base) * 1000
    theirs = (medians["sops"] - base) * 1000
    print(f"exec-env overhead, 100 values, median of {runs} (ms over running `true` directly, {base * 1000:.1f} ms):")
    print(f"  secrets exec-env: {ours:.1f} ms   sops exec-env: {theirs:.1f} ms   ratio sops/secrets: {theirs / max(ours, 0.001):.1f}x   floor 10 ms: {'met' if ours <= 10 else 'MISSED'}", flush=True)


def bench_updatekeys(n, secrets, sops, key, recipient, env, work, results):
    """`secrets updatekeys --all -y` over n encrypted files after a recipient is added to the
    rule, against `sops updatekeys -y` called once per file (sops has no recursive mode)."""
    repo = os.path.join(work, "repo")
    second = os.path.join(work, "second.txt")
    subprocess.run([secrets, "keygen", "-o", second], check=True, stderr=subprocess.DEVNULL)
    second_recipient = [l.split(": ")[1].strip() for l in open(second) if l.startswith("# public key: ")][0]
    config = os.path.join(repo, ".sops.yaml")
    for i in range(n):
        d = os.path.join(repo, f"svc{i // 100:02d}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"app{i:04d}.yaml"), "w") as f:
            f.write(f"# service {i}\ndb:\n  user: app{i}\n  password: pw-{i:04d}-s3cr3t\napi_token: tok-{i:04d}\n")
    with open(config, "w") as f:
        f.write(f"creation_rules:\n  - path_regex: \\.yaml$\n    age: {recipient}\n")
    for root, _, names in os.walk(repo):
        for name in names:
            if name.endswith(".yaml") and name != ".sops.yaml":
                subprocess.run([secrets, "encrypt", "-i", os.path.join(root, name)], env=env, check=True)
    files = sorted(os.path.join(r, f) for r, _, fs in os.walk(repo) for f in fs if f.endswith(".yaml") and f != ".sops.yaml")
    timings = {}
    for tool in ("secrets", "sops"):
        # Alternate the recipient set so every run has work to do.
        with open(config, "w") as f:
            extra = f",{second_recipient}" if tool == "secrets" else ""
            f.write(f"creation_rules:\n  - path_regex: \\.yaml$\n    age: {recipient}{extra}\n")
        start = time.perf_counter()
        if tool == "secrets":
            subprocess.run([secrets, "updatekeys", "--all", "-y"], cwd=repo, env=env, check=True, stderr=subprocess.DEVNULL)
        else:
            for path in files:
                subprocess.run([sops, "updatekeys", "-y", path], cwd=repo, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        timings[tool] = time.perf_counter() - start
        results[("updatekeys", n, tool)] = (timings[tool], 0.0)
    print(f"{'updatekeys ' + format(n, ',') + ' files':<22}{'secrets':<9}{timings['secrets']:>11.3f}   (--all, one call)")
    print(f"{'updatekeys ' + format(n, ',') + ' files':<22}{'sops':<9}{timings['sops']:>11.3f}   (one call per file)")


if __name__ == "__main__":
    main()
