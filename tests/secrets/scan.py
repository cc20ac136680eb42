#!/usr/bin/env python3
"""The independent check for tests/secrets.rs: detect-secrets (PyPI, all its default plugins:
keyword, high-entropy strings, and the token formats) over every file in a folder.

    python scan.py DIR

stdout: one JSON object a finding, {"file", "line", "type", "secret"}, the secret as
detect-secrets read it (the test compares it with what the corpus holds).
"""

import json
import os
import sys

from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings


def main(folder):
    collection = SecretsCollection()
    with default_settings():
        for name in sorted(os.listdir(folder)):
            collection.scan_file(os.path.join(folder, name))
    for filename, secret in collection:
        print(json.dumps({"file": os.path.basename(filename), "line": secret.line_number, "type": secret.type,
                          "secret": secret.secret_value}))


if __name__ == "__main__":
    main(sys.argv[1])
