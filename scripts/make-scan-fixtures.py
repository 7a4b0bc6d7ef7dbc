#!/usr/bin/env python3
"""Build fixtures/scan/: a labeled set for the secret scanner.

positives/: one synthetic secret per file (realistic formats, valid checksums, never real).
negatives/: no secret (placeholders, doc examples, hashes, UUIDs, lockfiles, public keys,
certificates, encrypted files, tokens with a wrong checksum, code that reads secrets).
Deterministic: run it again and nothing changes.  Usage: python3 scripts/make-scan-fixtures.py
A fresh set elsewhere (to check the scores do not depend on the committed values):
    python3 scripts/make-scan-fixtures.py --seed 1616 --out target/labeled-1616
"""
import argparse, base64, json, os, random, shutil, zlib

_ap = argparse.ArgumentParser()
_ap.add_argument("--seed", type=int, default=20261125)
_ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "scan"))
_args = _ap.parse_args()
ROOT = os.path.abspath(_args.out)
R = random.Random(_args.seed)
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
HEX = "0123456789abcdef"
UP32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
BECH = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def rnd(n, alphabet=ALNUM):
    return "".join(R.choice(alphabet) for _ in range(n))


def b62_6(n):
    out = ""
    for _ in range(6):
        out = B62[n % 62] + out
        n //= 62
    return out


def checksummed(prefix, n=30):
    r = rnd(n)
    return prefix + r + b62_6(zlib.crc32(r.encode()))


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt():
    h = b64url(json.dumps({"alg": R.choice(["HS256", "RS256"]), "typ": "JWT"}).encode())
    p = b64url(json.dumps({"sub": str(R.randint(1000, 99999)), "name": "svc-" + rnd(6), "iat": 1700000000 + R.randint(0, 10**6)}).encode())
    return f"{h}.{p}.{b64url(R.randbytes(32))}"


def pem(kind):
    body = base64.b64encode(R.randbytes(600)).decode()
    lines = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {kind}-----\n{lines}\n-----END {kind}-----\n"


def password():
    words = ["Maple", "river", "Quartz", "tiger", "Violet", "copper", "Falcon", "ember"]
    return R.choice(words) + R.choice("!#%&*@") + str(R.randint(10, 9999)) + R.choice(words).lower() + R.choice("?!+=")


POS = []  # (name, text)
NEG = []


def pos(name, text):
    POS.append((name, text))


def neg(name, text):
    NEG.append((name, text))


for i in range(3):
    pos(f"github-classic-{i}.env", f"GITHUB_TOKEN={checksummed(R.choice(['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_']))}\n")
    pos(f"npm-{i}.npmrc", f"//registry.npmjs.org/:_authToken={checksummed('npm_')}\n")
    pos(f"aws-key-id-{i}.ini", f"[default]\naws_access_key_id = AKIA{rnd(16, UP32)}\nregion = eu-west-1\n")
    pos(f"slack-{i}.yaml", f"slack:\n  bot_token: xoxb-{rnd(11, '0123456789')}-{rnd(12, '0123456789')}-{rnd(24)}\n")
    pos(f"stripe-{i}.py", f"import stripe\nstripe.api_key = \"sk_live_{rnd(24)}\"\n")
    pos(f"gitlab-{i}.sh", f"curl --header \"PRIVATE-TOKEN: glpat-{rnd(20)}\" https://gitlab.example.org/api/v4/projects\n")
    pos(f"google-{i}.js", f"const firebaseConfig = {{\n  apiKey: \"AIza{rnd(35, ALNUM + '_-')}\",\n  projectId: \"demo\"\n}};\n")
    pos(f"jwt-{i}.http", f"GET /api/me HTTP/1.1\nAuthorization: Bearer {jwt()}\n")
    pos(f"postgres-url-{i}.env", f"DATABASE_URL=postgres://app:{rnd(18)}@db.internal:5432/app\n")
    pos(f"generic-password-{i}.yaml", f"database:\n  host: db.internal\n  password: \"{password()}\"\n")
    pos(f"generic-hex-{i}.toml", f"[service]\nsecret_key = \"{rnd(40, HEX)}\"\n")
for i in range(2):
    pos(f"github-fine-grained-{i}.env", f"GH_PAT=github_pat_{rnd(22)}_{rnd(59)}\n")
    pos(f"openai-{i}.py", f"client = OpenAI(api_key=\"sk-proj-{rnd(48, ALNUM + '_-')}\")\n")
    pos(f"anthropic-{i}.env", f"ANTHROPIC_API_KEY=sk-ant-api03-{rnd(93, ALNUM + '_-')}AA\n")
    pos(f"sendgrid-{i}.env", f"SENDGRID_API_KEY=SG.{rnd(22)}.{rnd(43)}\n")
    pos(f"pypi-{i}.pypirc", f"[pypi]\nusername = __token__\npassword = pypi-AgEIcHlwaS5vcmc{rnd(70, ALNUM + '_-')}\n")
    pos(f"age-key-{i}.txt", f"# created: 2026-01-01T00:00:00Z\n# public key: age1{rnd(58, BECH)}\nAGE-SECRET-KEY-1{rnd(58, BECH.upper())}\n")
    pos(f"mysql-url-{i}.yaml", f"spring:\n  datasource:\n    url: mysql://root:{password()}@mysql:3306/shop\n")
    pos(f"aws-secret-{i}.credentials", f"[prod]\naws_access_key_id = ASIA{rnd(16, UP32)}\naws_secret_access_key = {rnd(40, ALNUM + '/+')}\n")
    pos(f"docker-auth-{i}.json", json.dumps({"auths": {"registry.example.io": {"auth": base64.b64encode(f'deploy:{rnd(20)}'.encode()).decode()}}}, indent=2) + "\n")
    pos(f"netrc-{i}.netrc", f"machine api.example.io\n  login deploy\n  password {password()}\n")
pos("rsa-pem.key", pem("RSA PRIVATE KEY"))
pos("pkcs8-pem.pem", pem("PRIVATE KEY"))
pos("ec-pem.yaml", "tls:\n  key: |\n" + "".join("    " + l + "\n" for l in pem("EC PRIVATE KEY").splitlines()))
pos("openssh.txt", pem("OPENSSH PRIVATE KEY"))
pos("pgp-private.asc", pem("PGP PRIVATE KEY BLOCK"))
pos("pem-in-json.json", json.dumps({"private_key": pem("PRIVATE KEY")}) + "\n")
pos("huggingface.env", f"HF_TOKEN=hf_{rnd(34, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ')}\n")
pos("digitalocean.tf", f"provider \"digitalocean\" {{\n  token = \"dop_v1_{rnd(64, HEX)}\"\n}}\n")
pos("shopify.rb", f"ShopifyAPI::Context.setup(api_key: ENV['K'], access_token: 'shpat_{rnd(32, HEX)}')\n")
pos("docker-hub.sh", f"echo dckr_pat_{rnd(27, ALNUM + '_-')} | docker login -u ci --password-stdin\n")
pos("vault.env", f"VAULT_TOKEN=hvs.{rnd(95, ALNUM + '_-')}\n")
pos("linear.ts", f"const linear = new LinearClient({{ apiKey: \"lin_api_{rnd(40)}\" }});\n")
pos("postman.json", json.dumps({"postman_api_key": f"PMAK-{rnd(24, HEX)}-{rnd(34, HEX)}"}) + "\n")
pos("databricks.cfg", f"[DEFAULT]\nhost = https://adb-1.azuredatabricks.net\ntoken = dapi{rnd(32, HEX)}\n")
pos("newrelic.yml", f"common:\n  license_key_ref: none\n  api: NRAK-{rnd(27, UP32.upper() + '0189')}\n")
pos("telegram.py", f"bot = telebot.TeleBot(\"{R.randint(10**8, 10**9)}:AA{rnd(33, ALNUM + '_-')}\")\n")
pos("discord.md", f"Alerts go to https://discord.com/api/webhooks/{R.randint(10**17, 10**18)}/{rnd(68, ALNUM + '_-')}\n")
pos("slack-webhook.yaml", f"alertmanager:\n  slack_api_url: https://hooks.slack.com/services/T{rnd(8, UP32)}/B{rnd(8, UP32)}/{rnd(24)}\n")
pos("azure-storage.config", f"<add key=\"Storage\" value=\"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={base64.b64encode(R.randbytes(64)).decode()};EndpointSuffix=core.windows.net\" />\n")
pos("google-oauth.json", json.dumps({"web": {"client_id": "1-abc.apps.googleusercontent.com", "client_secret": f"GOCSPX-{rnd(28, ALNUM + '_-')}"}}, indent=2) + "\n")
pos("stripe-restricted.go", f"package pay\n\nconst key = \"rk_live_{rnd(32)}\"\n")
pos("redis-url.py", f"REDIS_URL = \"redis://default:{rnd(24)}@cache.internal:6379/0\"\n")
pos("mongodb-url.js", f"mongoose.connect('mongodb+srv://admin:{password()}@cluster0.mongodb.net/app');\n")
pos("amqp-url.properties", f"spring.rabbitmq.addresses=amqp://svc:{rnd(16)}@mq.internal:5672\n")
pos("generic-api-key.json", json.dumps({"service": {"apiKey": rnd(32)}}, indent=2) + "\n")
pos("generic-client-secret.yaml", f"oauth:\n  client_id: web-app\n  client_secret: {rnd(40, ALNUM + '-_')}\n")
pos("generic-passphrase.env", f"SIGNING_PASSPHRASE='{password()}'\n")
pos("generic-token.go", f"package main\n\nvar authToken = \"{rnd(36)}\"\n")
pos("generic-password-xml.xml", f"<datasource>\n  <password>{password()}</password>\n</datasource>\n")
pos("generic-password-kwarg.py", f"conn = psycopg2.connect(host='db', user='app', password='{password()}')\n")
pos("generic-access-key.cs", f"var accessKey = \"{rnd(32)}\";\n")
pos("generic-db-password.env", f"DB_PASSWORD={password()}\n")
pos("terraform-cloud.tfrc", f"credentials \"app.terraform.io\" {{\n  token = \"{rnd(14)}.atlasv1.{rnd(67, ALNUM + '_-')}\"\n}}\n")
pos("grafana.ini", f"[grafana]\nurl = https://grafana.example.org\nsa = glsa_{rnd(32)}_{rnd(8, HEX)}\n")
pos("atlassian.sh", f"curl -u me@example.org:ATATT3{rnd(186, ALNUM + '_-')} https://example.atlassian.net/rest/api/3/myself\n")
pos("square.rb", f"client = Square::Client.new(access_token: 'EAAA{rnd(60, ALNUM + '_-')}')\n")
pos("mailgun.php", f"<?php\n$mg = Mailgun::create('key-{rnd(32, HEX)}');\n")
pos("k8s-secret-stringdata.yaml", f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  DB_PASSWORD: \"{password()}\"\n")
pos("compose-env.yaml", f"services:\n  db:\n    environment:\n      - POSTGRES_PASSWORD={rnd(20)}\n")

# --- negatives ---
neg("placeholders.env", "DB_PASSWORD=changeme\nAPI_TOKEN=${API_TOKEN}\nSECRET_KEY=<your-secret-key>\nGITHUB_TOKEN={{ github_token }}\nPASSWORD=\nAWS_SECRET_ACCESS_KEY=YOUR_SECRET_ACCESS_KEY\n")
neg("aws-doc-example.md", "Set `aws_access_key_id = AKIAIOSFODNN7EXAMPLE` and\n`aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`.\n")
neg("readme-env.md", "Export your token first:\n\n    export GITHUB_TOKEN=<token>\n    export NPM_TOKEN=\"$NPM_TOKEN\"\n")
neg("code-reads-secrets.py", "import os\npassword = os.environ[\"DB_PASSWORD\"]\ntoken = get_token(user)\napi_key = settings.API_KEY\nsecret = self.secret\n")
neg("code-reads-secrets.ts", "const token = process.env.GITHUB_TOKEN;\nconst password = await vault.read(path);\nexport const secretName = 'db-password';\n")
neg("gha-workflow.yml", "jobs:\n  release:\n    steps:\n      - run: npm publish\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n          password: ${{ secrets.DOCKER_PASSWORD }}\n")
neg("hashes.txt", "".join(f"{rnd(64, HEX)}  dist/pkg-{i}.tar.gz\n" for i in range(5)))
neg("git-log.txt", "".join(f"commit {rnd(40, HEX)}\nAuthor: dev <dev@example.org>\n\n    fix {i}\n\n" for i in range(4)))
neg("uuids.json", json.dumps({"ids": [f"{rnd(8, HEX)}-{rnd(4, HEX)}-4{rnd(3, HEX)}-a{rnd(3, HEX)}-{rnd(12, HEX)}" for _ in range(5)], "request_id": f"{rnd(8, HEX)}-{rnd(4, HEX)}-4{rnd(3, HEX)}-8{rnd(3, HEX)}-{rnd(12, HEX)}"}, indent=2) + "\n")
neg("package-lock.json", json.dumps({"name": "app", "lockfileVersion": 3, "packages": {f"node_modules/p{i}": {"version": "1.0.0", "resolved": f"https://registry.npmjs.org/p{i}/-/p{i}-1.0.0.tgz", "integrity": "sha512-" + base64.b64encode(R.randbytes(64)).decode()} for i in range(6)}}, indent=2) + "\n")
neg("Cargo.lock", "".join(f"[[package]]\nname = \"crate{i}\"\nversion = \"0.{i}.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{rnd(64, HEX)}\"\n\n" for i in range(5)))
neg("yarn.lock", "".join(f"pkg{i}@^1.0.0:\n  version \"1.0.{i}\"\n  resolved \"https://registry.yarnpkg.com/pkg{i}/-/pkg{i}-1.0.{i}.tgz#{rnd(40, HEX)}\"\n  integrity sha512-{base64.b64encode(R.randbytes(64)).decode()}\n\n" for i in range(4)))
neg("base64-blob.json", json.dumps({"icon": "data:image/png;base64," + base64.b64encode(R.randbytes(900)).decode()}) + "\n")
neg("public-key.pem", "-----BEGIN PUBLIC KEY-----\n" + "\n".join(base64.b64encode(R.randbytes(294)).decode()[i:i + 64] for i in range(0, 392, 64)) + "\n-----END PUBLIC KEY-----\n")
neg("certificate.crt", "-----BEGIN CERTIFICATE-----\n" + "\n".join(base64.b64encode(R.randbytes(700)).decode()[i:i + 64] for i in range(0, 936, 64)) + "\n-----END CERTIFICATE-----\n")
neg("ssh-public.pub", f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{rnd(43, ALNUM + '+/')} dev@laptop\nssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ{rnd(300, ALNUM + '+/')} ci\n")
neg("authorized-keys-config.yaml", f"users:\n  - name: deploy\n    public_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{rnd(43, ALNUM + '+/')}\n")
neg("age-recipients.txt", "".join(f"age1{rnd(58, BECH)}\n" for _ in range(3)))
neg("age-ciphertext.age", "-----BEGIN AGE ENCRYPTED FILE-----\n" + "\n".join(base64.b64encode(R.randbytes(300)).decode()[i:i + 64] for i in range(0, 400, 64)) + "\n-----END AGE ENCRYPTED FILE-----\n")
neg("pgp-message.asc", "-----BEGIN PGP MESSAGE-----\n\n" + "\n".join(base64.b64encode(R.randbytes(300)).decode()[i:i + 64] for i in range(0, 400, 64)) + "\n-----END PGP MESSAGE-----\n")
neg("pgp-public.asc", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n" + "\n".join(base64.b64encode(R.randbytes(300)).decode()[i:i + 64] for i in range(0, 400, 64)) + "\n-----END PGP PUBLIC KEY BLOCK-----\n")
neg("private-key-doc.md", "Paste your key between the markers:\n\n```\n-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----\n```\n")
for i in range(2):
    good = checksummed("ghp_")
    bad = good[:-1] + ("A" if good[-1] != "A" else "B")
    neg(f"github-bad-checksum-{i}.env", f"GITHUB_TOKEN={bad}\n")
    good = checksummed("npm_")
    bad = good[:-1] + ("A" if good[-1] != "A" else "B")
    neg(f"npm-bad-checksum-{i}.npmrc", f"//registry.npmjs.org/:_authToken={bad}\n")
neg("jwt-not-json.txt", f"eyJ{rnd(30)}.eyJ{rnd(30)}.{rnd(40)}\n")
neg("url-without-password.yaml", "db:\n  url: postgres://app@db.internal:5432/app\n  replica: postgres://db-replica.internal/app\n  docs: https://user:password@example.com/\n  tmpl: postgres://${DB_USER}:${DB_PASSWORD}@db:5432/app\n")
neg("test-fixture-placeholder.py", "def test_login(client):\n    resp = client.post('/login', data={'username': 'alice', 'password': 'password'})\n    token = 'dummy-token'\n    assert resp.status_code == 200\n")
neg("password-policy.yaml", "password_min_length: 12\npassword_policy: strict\ntoken_ttl: 3600\ntoken_type: bearer\nsecret_name: prod-db\nauth_url: https://auth.example.org/oauth/token\n")
neg("k8s-secret-ref.yaml", "env:\n  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef:\n        name: db\n        key: password\n")
neg("terraform-vars.tf", "variable \"db_password\" {\n  type      = string\n  sensitive = true\n}\n\nresource \"aws_db_instance\" \"db\" {\n  password = var.db_password\n}\n")
neg("prose.md", "Tokens are rotated every 90 days. Never commit a password or secret; use `secrets encrypt`.\nThe authentication flow issues an access token after the user signs in.\n")
neg("css-and-svg.css", ".token-list { color: #3b82f6; }\n.password-field::after { content: \"\"; }\n")
neg("i18n.json", json.dumps({"login.password": "Password", "login.token_expired": "Your session token has expired", "reset.secret_question": "What is your first pet's name?"}, indent=2) + "\n")
neg("minified.js", "!function(e){var t={};" + ";".join(f"function n{i}(r){{return r.token&&r.password?t[r.id]:void 0}}" for i in range(50)) + "}(window);\n")
neg("env-example.env", "STRIPE_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx\nSLACK_TOKEN=xoxb-your-token-here\nDATABASE_URL=postgres://user:password@localhost:5432/app\n")
neg("bcrypt-hash.yaml", "users:\n  - name: alice\n    password_hash: \"$2b$12$" + rnd(53, ALNUM + "./") + "\"\n")
neg("java-code.java", "String password = request.getParameter(\"password\");\nString token = headers.get(AUTH_HEADER);\nif (secret == null) throw new IllegalStateException();\n")
neg("python-code.py", "password = getpass.getpass(\"Password: \")\ntoken = response.json()[\"access_token\"]\napi_key: str = Field(default=None)\n")
neg("sql.sql", "SELECT id FROM sessions WHERE token = ? AND expires_at > now();\nUPDATE users SET password_hash = $1 WHERE id = $2;\n")
neg("go-struct.go", "package auth\n\ntype Login struct {\n\tUser     string `json:\"user\"`\n\tPassword string `json:\"password\"`\n}\n")
neg("checksums.toml", "[release]\nsecret_sha256 = \"" + rnd(64, HEX) + "\"\ntoken_digest = \"sha256:" + rnd(64, HEX) + "\"\n")
neg("stripe-test-docs.md", "Use the test card 4242 4242 4242 4242 and a key like `sk_test_<your key>`.\n")
neg("hex-colors-and-ids.yaml", "theme:\n  primary: \"#1e40af\"\nbuild:\n  commit_sha: " + rnd(40, HEX) + "\n  image_digest: sha256:" + rnd(64, HEX) + "\n")

shutil.rmtree(ROOT, ignore_errors=True)
for sub, items in (("positives", POS), ("negatives", NEG)):
    os.makedirs(os.path.join(ROOT, sub))
    for name, text in items:
        with open(os.path.join(ROOT, sub, name), "w") as f:
            f.write(text)
# Real sops output (from fixtures/sops) is a negative too: ENC[...] values and metadata.
src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "sops")
for name in sorted(os.listdir(src)):
    if ".sops." in name:
        shutil.copy(os.path.join(src, name), os.path.join(ROOT, "negatives", "sops-" + name))
print(f"{len(POS)} positives, {len(os.listdir(os.path.join(ROOT, 'negatives')))} negatives")
