#!/usr/bin/env python3
"""Builds the leak corpus for tests/secrets.rs: realistic Claude Code hook payloads with a secret
in each form an agent writes, placed in every field an agent fills.

    python3 tests/secrets/corpus.py < extra.json > corpus.jsonl

stdin (optional): {"forms": [[text, secret], ...]}, more forms to place (the test passes every
row of the filter's tables, with its example). stdout: one JSON object a line,
{"event": <hook payload>, "secrets": [<secret>, ...]}, the secrets that payload holds. Standard
library only; the same input gives the same corpus.
"""

import json
import sys

SESSION = "5e55e5e5-0000-4000-8000-0000000000c0"
CWD = "/home/dev/src/shop"
CAP = 16 * 1024  # CLAUDE_SESSION_LOG_FIELD_MAX's default

# (text holding a secret, the secret): the forms issue 29 lists, each as an agent writes it.
FORMS = [
    # JSON inside a double-quoted shell string; a config file written with echo.
    ('curl -s -X POST -d "{\\"username\\":\\"admin\\",\\"password\\":\\"S3cretPassw0rd\\"}" https://api.example.com/login',
     "S3cretPassw0rd"),
    ('echo "{\\"api_key\\": \\"ak-7Hq2Lm9Zx4Wv\\"}" > cfg.json', "ak-7Hq2Lm9Zx4Wv"),
    ("curl -d '{\"client_secret\":\"cs-Yt6Rw2Qp8Ln\"}' https://auth.example.com/token", "cs-Yt6Rw2Qp8Ln"),
    # URLs.
    ("redis-cli -u redis://:r3disOnlyPass@cache.internal:6379 ping", "r3disOnlyPass"),
    ("psql postgres://app:p@ssw0rd@with-at@db.internal:5432/app", "p@ssw0rd@with-at"),
    ("REDIS_URL=redis://default:envR3disPw@cache:6379/0", "envR3disPw"),
    ("DATABASE_URL=postgres://shop:dbUrlPassw0rd@db:5432/shop", "dbUrlPassw0rd"),
    # Headers and cookies, as sent and as curl -i / -v prints them.
    ("curl -H 'Cookie: session_id=9f8e7d6c5b4a3f2e' https://shop.example.com/cart", "9f8e7d6c5b4a3f2e"),
    ("Set-Cookie: sid=s%3AaB3dE5gH7jK9.xYz; Path=/; HttpOnly", "s%3AaB3dE5gH7jK9.xYz"),
    ("< set-cookie: remember_token=rt-4Kp9Qw2Xz7Lm; Max-Age=2592000", "rt-4Kp9Qw2Xz7Lm"),
    ("curl -b 'csrftoken=ct8Hj3Kl5Mn7' https://shop.example.com/", "ct8Hj3Kl5Mn7"),
    ("curl -u deploy:curlUserPass99 https://ci.example.com/api", "curlUserPass99"),
    ("curl --user admin:adminCurlPw https://ci.example.com/api", "adminCurlPw"),
    # Spaced assignments with no digits (.ini, .cnf, .env).
    ("password = correcthorsebattery", "correcthorsebattery"),
    ("DB_PASSWORD = staplehorsebattery", "staplehorsebattery"),
    # Credential files.
    ("machine api.heroku.com login me@example.com password netrcHerokuPw", "netrcHerokuPw"),
    ("//registry.npmjs.org/:_auth=ZGV2Om5wbXJjUGFzc3dvcmQ=", "ZGV2Om5wbXJjUGFzc3dvcmQ="),
    ("//npm.pkg.github.com/:_authToken=npmrcTok3nValue", "npmrcTok3nValue"),
    ('{"auths": {"ghcr.io": {"auth": "ZGV2OmRvY2tlckNvbmZpZ1B3"}}}', "ZGV2OmRvY2tlckNvbmZpZ1B3"),
    ("db.internal:5432:shop:shop:pgpassFileValue", "pgpassFileValue"),
    ("define('DB_PASSWORD', 'wpConfigPassw0rd');", "wpConfigPassw0rd"),
    # YAML written through printf, with literal \n.
    ("printf 'db:\\n  user: app\\n  password: printfYamlPw\\n' > config.yml", "printfYamlPw"),
    # Tool commands.
    ("aws configure set aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLE"),
    ("openssl pkcs12 -export -in c.pem -out c.p12 -passout pass:p12ExportPw", "p12ExportPw"),
    # Tokens.
    ("https://shopassets.blob.core.windows.net/img/a.png?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-12-31&sig=Wq3zX9pL2mN7vB5cR8tY1uI4oP6aS0dF%3D",
     "Wq3zX9pL2mN7vB5cR8tY1uI4oP6aS0dF%3D"),
    ("VAULT_TOKEN=hvs.CAESIBq8Zr3Xy7Lm2Nk5Pq9Wt4Uv6Hj1Gf0De", "hvs.CAESIBq8Zr3Xy7Lm2Nk5Pq9Wt4Uv6Hj1Gf0De"),
    ("client.run('MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.Gh7Kq2.zX9cV8bN7mL6kJ5hG4fD3sA2pO1iU0yT9rE8w')",
     "zX9cV8bN7mL6kJ5hG4fD3sA2pO1iU0yT9rE8w"),
    # Short password options where the tool is known.
    ("mysql -h db.internal -u root -pMysqlR00tPw shop", "MysqlR00tPw"),
    ("sshpass -p 'sshpass phrase' ssh deploy@web1", "sshpass phrase"),
    ("docker login -u ci -p dockerLoginPw registry.example.com", "dockerLoginPw"),
    ("redis-cli -h cache -a redisCliAuthPw INFO", "redisCliAuthPw"),
    # FINDINGS-3 (an adversary's pass over what agents write), in order of how common the form is.
    # F1: service tokens, as the tools print them and as .env files hold them.
    ("$ gcloud auth print-access-token\nya29.a0AfB_q7Kx2Lm9PzR4vN8wT3hJ6dF1sGe5Yb0cU2iO9aP4lX7", "ya29.a0AfB_q7Kx2Lm9PzR4vN8wT3hJ6dF1sGe5Yb0cU2iO9aP4lX7"),
    ("DOCKER_TOKEN=dckr_pat_Wq3zX9pL2mN7vB5cR8tY1uI4oP6", "dckr_pat_Wq3zX9pL2mN7vB5cR8tY1uI4oP6"),
    ("OPENROUTER_KEY sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
     "sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
    # F2: typed declarations.
    ('export const STRIPE_SECRET: string = "tsTypedSecr3t";', "tsTypedSecr3t"),
    ('const API_TOKEN: &str = "rustConstT0ken";', "rustConstT0ken"),
    ('    openai_api_key: str = "pydanticDefaultK3y"', "pydanticDefaultK3y"),
    # F3: arrow pairs.
    ("        'password' => 'laravelDbPassw0rd',", "laravelDbPassw0rd"),
    ("  :password => \"railsHashPassw0rd\",", "railsHashPassw0rd"),
    # F4: SQL.
    ("psql -c \"ALTER ROLE shop WITH PASSWORD 'sqlRolePassw0rd'\"", "sqlRolePassw0rd"),
    ("CREATE USER 'shop'@'%' IDENTIFIED BY 'mysqlIdentPassw0rd';", "mysqlIdentPassw0rd"),
    # F6: a value holding a word of its name.
    ("      MYSQL_ROOT_PASSWORD: rootpassword", "rootpassword"),
    ("JWT_SECRET=mysupersecretjwtkey", "mysupersecretjwtkey"),
    # F9: a quoted subscript.
    ('os.environ["ANTHROPIC_API_KEY"] = "pyEnvironK3yValue"', "pyEnvironK3yValue"),
    # F5: a value beside its secret's name.
    ("        - name: POSTGRES_PASSWORD\n          value: \"k8sEnvValuePassw0rd\"", "k8sEnvValuePassw0rd"),
    ('{"name": "STRIPE_API_KEY", "value": "ecsTaskDefK3yValue"}', "ecsTaskDefK3yValue"),
    ('<add key="ApiKey" value="dotnetAppSettingK3y" />', "dotnetAppSettingK3y"),
    # F7: YAML comments and block scalars.
    ("  password: yamlCommentedPw9 # prod", "yamlCommentedPw9"),
    ("  password: |\n    yamlBlockScalarPw9", "yamlBlockScalarPw9"),
    # F9: calls.
    ('api_key = os.getenv("OPENAI_API_KEY", "getenvDefaultK3y")', "getenvDefaultK3y"),
    ('std::env::set_var("API_TOKEN", "rustSetVarT0ken");', "rustSetVarT0ken"),
    # F10: tool options.
    ("ssh-keygen -t ed25519 -N 'sshKeygenPhrase9' -f ~/.ssh/deploy", "sshKeygenPhrase9"),
    ("keytool -importkeystore -srckeystore a.p12 -srcstorepass keytoolSrcPw9 -destkeystore a.jks", "keytoolSrcPw9"),
    # F13, F14: a service's key, a PW name.
    ('openai_key = "vendorNamedK3y9"', "vendorNamedK3y9"),
    ("ADMIN_PW=Kp4zRw8TyQ", "Kp4zRw8TyQ"),
    # F8: XML elements.
    ("      <password>mavenSettingsPw9</password>", "mavenSettingsPw9"),
    # F11: a secret fed on stdin.
    ("echo 'ghAuthStdinT0ken' | gh auth login --with-token", "ghAuthStdinT0ken"),
    ('echo "sudoStdinPassw0rd" | sudo -S systemctl restart shop', "sudoStdinPassw0rd"),
    ('npx wrangler secret put STRIPE_KEY <<< "wranglerHereStr1ng"', "wranglerHereStr1ng"),
    # F12: a private key in base64.
    ("  tls.key: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUV2UUlCQURBTkJna3Foa2lHOXcwQkFRRUZBQVNDQktjd2dnU2pBZ0VBQW9JQkFRQzc=",
     "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUV2UUlCQURBTkJna3Foa2lHOXcwQkFRRUZBQVNDQktjd2dnU2pBZ0VBQW9JQkFRQzc="),
    # F15: URLs and webhooks.
    ("git clone https://Tk7x9Qm2Lp4Zr8Wv3Ny6Hb1@github.com/acme/shop.git", "Tk7x9Qm2Lp4Zr8Wv3Ny6Hb1"),
    ("curl https://api.telegram.org/bot7012345678:AAF3kLm9QxZ2vN7pR4tW8yH1jD6fG0sK5eU/getMe", "AAF3kLm9QxZ2vN7pR4tW8yH1jD6fG0sK5eU"),
    # F16-F18: pairs, pwd, htpasswd.
    ("r = requests.get(url, auth=('deploy', 'requestsAuthPw9'))", "requestsAuthPw9"),
    ("Server=tcp:db,1433;Database=shop;Uid=sa;Pwd=odbcConnPw9;", "odbcConnPw9"),
    ("htpasswd -bc /etc/nginx/.htpasswd admin htpasswdBatchPw9", "htpasswdBatchPw9"),
]

# Ordinary text every field holds too: the filter must leave it as it is.
ORDINARY = (
    "ordinary: commit 85f589b2c1d4e8f9a0b1c2d3e4f5a6b7c8d9e0f1, id a3008a2b-25c3-4791-b916-3ad5effae209, "
    "let token = next_token(&mut lexer); const auth = `Bearer ${token}`;"
)


def text_of(forms):
    return "\n".join([ORDINARY] + [line for line, _ in forms]) + "\n"


def event(name, **fields):
    base = {
        "session_id": SESSION,
        "transcript_path": f"/home/dev/.claude/projects/-home-dev-src-shop/{SESSION}.jsonl",
        "cwd": CWD,
        "permission_mode": "default",
        "hook_event_name": name,
    }
    base.update(fields)
    return base


def patch(text, sign="+"):
    return [{"oldStart": 1, "oldLines": 0, "newStart": 1, "newLines": text.count("\n"),
             "lines": [sign + line for line in text.splitlines()]}]


def payloads(forms):
    """Every field an agent fills, each holding every form."""
    text = text_of(forms)
    secrets = [s for _, s in forms]
    n = iter(range(1, 10_000))
    tid = lambda: f"toolu_corpus{next(n):04d}"
    out = []

    def add(ev, extra=()):
        out.append({"event": ev, "secrets": secrets + list(extra)})

    t = tid()
    add(event("UserPromptSubmit", prompt="Deploy with these settings:\n" + text))
    add(event("PreToolUse", tool_name="Bash", tool_use_id=t, tool_input={"command": text, "description": "run it"}))
    add(event("PostToolUse", tool_name="Bash", tool_use_id=t, tool_input={"command": "./deploy.sh"},
              tool_response={"stdout": text, "stderr": text, "interrupted": False, "isImage": False}))
    t = tid()
    add(event("PostToolUseFailure", tool_name="Bash", tool_use_id=t, tool_input={"command": "./deploy.sh"},
              error="Exit code 1\n" + text, is_interrupt=False))
    t = tid()
    add(event("PreToolUse", tool_name="Read", tool_use_id=t, tool_input={"file_path": CWD + "/.env"}))
    add(event("PostToolUse", tool_name="Read", tool_use_id=t, tool_input={"file_path": CWD + "/.env"},
              tool_response={"type": "text", "file": {"filePath": CWD + "/.env", "content": text,
                                                       "numLines": text.count("\n"), "startLine": 1,
                                                       "totalLines": text.count("\n")}}))
    t = tid()
    add(event("PreToolUse", tool_name="Write", tool_use_id=t, tool_input={"file_path": CWD + "/.env", "content": text}))
    add(event("PostToolUse", tool_name="Write", tool_use_id=t, tool_input={"file_path": CWD + "/.env", "content": text},
              tool_response={"type": "create", "filePath": CWD + "/.env", "content": text, "structuredPatch": []}))
    t = tid()
    edit = {"file_path": CWD + "/config.ini", "old_string": "[client]\n", "new_string": text, "replace_all": False}
    add(event("PreToolUse", tool_name="Edit", tool_use_id=t, tool_input=edit))
    add(event("PostToolUse", tool_name="Edit", tool_use_id=t, tool_input=edit,
              tool_response={"filePath": edit["file_path"], "oldString": edit["old_string"], "newString": text,
                             "originalFile": "[client]\n" + text, "structuredPatch": patch(text),
                             "userModified": False, "replaceAll": False}))
    # MCP inputs: secrets as JSON members, not text.
    t = tid()
    mcp = {"url": "https://api.example.com/v1/orders",
           "headers": {"Cookie": "session=mcpCookieVal123", "X-Auth": "mcpXAuthValue", "X-Auth-Token": "mcpXAuthTok",
                       "Authorization": "Bearer mcpBearerTok456", "Accept": "application/json"},
           "auth": {"user": "svc", "pass": "mcpPassValue"},
           "note": text}
    mcp_secrets = ["mcpCookieVal123", "mcpXAuthValue", "mcpXAuthTok", "mcpBearerTok456", "mcpPassValue"]
    add(event("PreToolUse", tool_name="mcp__http__request", tool_use_id=t, tool_input=mcp), mcp_secrets)
    add(event("PostToolUse", tool_name="mcp__http__request", tool_use_id=t, tool_input=mcp,
              tool_response=[{"type": "text", "text": text}]), mcp_secrets)

    # Over the field cap: a long output whose head holds the secrets, and an Edit whose patch
    # (deep containers) is cut to escaped JSON text.
    filler = "".join(f"line {i}: nothing to see here, just output\n" for i in range(CAP // 30))
    t = tid()
    add(event("PostToolUse", tool_name="Bash", tool_use_id=t, tool_input={"command": "make"},
              tool_response={"stdout": text + filler, "stderr": "", "interrupted": False, "isImage": False}))
    t = tid()
    hunks = patch(text) * 2 + [{"oldStart": i, "oldLines": 1, "newStart": i, "newLines": 1,
                                 "lines": ["-" + filler[:200], "+" + filler[:200]]} for i in range(200)]
    big = {"file_path": CWD + "/big.env", "old_string": "x", "new_string": text, "replace_all": False}
    add(event("PostToolUse", tool_name="Edit", tool_use_id=t, tool_input=big,
              tool_response={"filePath": big["file_path"], "oldString": "x", "newString": text,
                             "originalFile": text + filler * 2, "structuredPatch": hunks,
                             "userModified": False, "replaceAll": False}))
    return out


def main():
    forms = list(FORMS)
    extra = sys.stdin.read() if not sys.stdin.isatty() else ""
    if extra.strip():
        forms += [tuple(f) for f in json.loads(extra)["forms"]]
    for p in payloads(forms):
        print(json.dumps(p))


if __name__ == "__main__":
    main()
