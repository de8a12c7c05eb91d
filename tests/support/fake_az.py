"""A stand-in for the Azure CLI (`az`) and the Azure Developer CLI (`azd`) on PATH, for testing the azd
hooks and scripts/smoke-azure.sh where no Azure subscription is reachable.

It answers the commands those scripts run with the JSON documents the real CLIs print (the same fields,
filtered by `--query` and printed as `--output json|tsv|none`), from a state file named by FAKE_AZ_STATE.
Every call is appended to that file's `calls`. What sits behind Azure is local where it can be:

- a container app's replicas are ready when the local service's /readyz answers 200 (its sidecar has
  loaded the components), and its console log is the local replica's log file;
- App Configuration keys are the local configuration store's keys in Redis (`value||version`, as
  Dapr's configuration.redis reads them), so the local services read what the scripts write; without a
  Redis in the state they are kept in the state file.

Only the `--query` forms the scripts use are understood (`a.b`, `a[0].b`, `[].name`); any other
command or query fails loudly, so a script cannot come to depend on something the fake does not speak.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

# Run as a script, this folder comes first on sys.path, and its redis.py would shadow the redis package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

FORBIDDEN = "(Forbidden) Caller is not authorized to perform action on resource.\nCode: Forbidden\n"


class State:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = json.loads(path.read_text())

    def save(self) -> None:
        self.path.write_text(json.dumps(self.data, indent=2))


def usage(args: list[str]) -> None:
    sys.stderr.write(f"fake az: not understood: {' '.join(args)}\n")
    sys.exit(2)


def options(args: list[str]) -> tuple[list[str], dict[str, str]]:
    """Positional words and `--name value` options (a flag without a value maps to "true")."""
    words: list[str] = []
    opts: dict[str, str] = {}
    index = 0
    while index < len(args):
        arg = args[index]
        if arg.startswith("-"):
            name = arg.lstrip("-")
            if index + 1 < len(args) and not args[index + 1].startswith("--"):
                opts[name] = args[index + 1]
                index += 2
                continue
            opts[name] = "true"
        else:
            words.append(arg)
        index += 1
    aliases = {"n": "name", "g": "resource-group", "o": "output"}
    return words, {aliases.get(k, k): v for k, v in opts.items()}


def query(document: Any, expression: str | None) -> Any:
    if not expression:
        return document
    if expression.startswith("[]."):
        field = expression[3:]
        return [query(item, field) for item in document]
    value = document
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", expression):
        if part.startswith("["):
            index = int(part[1:-1])
            value = value[index] if isinstance(value, list) and index < len(value) else None
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            value = None
    return value


def emit(document: Any, opts: dict[str, str]) -> None:
    value = query(document, opts.get("query"))
    output = opts.get("output", "json")
    if output == "none":
        return
    if output == "tsv":
        items = value if isinstance(value, list) else [value]
        for item in items:
            if item is not None:
                sys.stdout.write(f"{item}\n")
        return
    sys.stdout.write(json.dumps(value, indent=2) + "\n")


def refused(state: State) -> bool:
    """Data-plane calls refused while a new role assignment is still applying (`refuse` calls)."""
    if state.data.get("refuse", 0) > 0:
        state.data["refuse"] -= 1
        state.save()
        sys.stderr.write(FORBIDDEN)
        return True
    return False


# ---- Key Vault ---------------------------------------------------------------------------------------


def keyvault(state: State, words: list[str], opts: dict[str, str]) -> None:
    vault = opts["vault-name"]
    secrets = state.data.setdefault("secrets", {})
    if refused(state):
        sys.exit(1)

    def bundle(name: str, value: str | None = None) -> dict[str, Any]:
        document: dict[str, Any] = {
            "attributes": {"enabled": True, "recoveryLevel": "Recoverable+Purgeable"},
            "contentType": None,
            "id": f"https://{vault}.vault.azure.net/secrets/{name}/0123456789abcdef",
            "managed": None,
            "name": name,
            "tags": {},
        }
        if value is not None:
            document["value"] = value
        return document

    if words == ["secret", "list"]:
        emit([bundle(name) for name in secrets], opts)
    elif words == ["secret", "set"]:
        if "file" in opts:
            assert opts.get("encoding") == "utf-8", "secrets are written as utf-8 text"
            value = Path(opts["file"]).read_text()
        else:
            value = opts["value"]
        secrets[opts["name"]] = value
        state.save()
        emit(bundle(opts["name"], value), opts)
    else:
        usage(["keyvault", *words])


# ---- App Configuration, kept in the local configuration store (Redis) ----------------------------------


class Settings:
    """App Configuration's key-values: the local configuration store in Redis when the state names one
    (`redis`), else kept in the state file (`appconfig`)."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.redis: Any = None
        if state.data.get("redis"):
            import redis

            self.redis = redis.Redis.from_url(f"redis://{state.data['redis']}", decode_responses=True)

    def names(self) -> list[str]:
        if self.redis is None:
            return sorted(self.state.data.setdefault("appconfig", {}))
        return sorted(k for k in self.redis.keys("*") if self.redis.type(k) == "string")

    def get(self, key: str) -> str | None:
        if self.redis is None:
            return self.state.data.setdefault("appconfig", {}).get(key)
        raw = self.redis.get(key)
        return None if raw is None else raw.rsplit("||", 1)[0]

    def set(self, key: str, value: str) -> None:
        if self.redis is None:
            self.state.data.setdefault("appconfig", {})[key] = value
            self.state.save()
        else:
            self.redis.set(key, f"{value}||{int(self.redis.incr('fake-az:version'))}")

    def delete(self, key: str) -> None:
        if self.redis is None:
            self.state.data.setdefault("appconfig", {}).pop(key, None)
            self.state.save()
        else:
            self.redis.delete(key)


def appconfig(state: State, words: list[str], opts: dict[str, str]) -> None:
    assert opts.get("auth-mode") == "login", "App Configuration has local authentication off"
    assert opts.get("endpoint") == state.data["appconfig_endpoint"], opts.get("endpoint")
    if refused(state):
        sys.exit(1)
    store = Settings(state)

    def setting(key: str) -> dict[str, Any]:
        value = store.get(key) or ""
        return {
            "contentType": opts.get("content-type", ""),
            "etag": "0123456789",
            "key": key,
            "label": None,
            "lastModified": "2026-01-01T00:00:00+00:00",
            "locked": False,
            "tags": {},
            "value": value,
        }

    if words == ["kv", "list"]:
        pattern = opts.get("key", "*")
        emit([setting(k) for k in store.names() if fnmatch.fnmatchcase(k, pattern)], opts)
    elif words == ["kv", "set"]:
        assert opts.get("yes") == "true", "kv set asks for confirmation without --yes"
        store.set(opts["key"], opts["value"])
        emit(setting(opts["key"]), opts)
    elif words == ["kv", "delete"]:
        assert opts.get("yes") == "true", "kv delete asks for confirmation without --yes"
        deleted = [setting(opts["key"])] if store.get(opts["key"]) is not None else []
        store.delete(opts["key"])
        emit(deleted, opts)
    else:
        usage(["appconfig", *words])


# ---- Container Apps, answered by the local replicas --------------------------------------------------


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _replicas(app: dict[str, Any], revision: str) -> list[dict[str, Any]]:
    """One replica per local replica of the service, ready when its /readyz answers 200."""
    return [
        {
            "name": f"{revision}-{index}",
            "properties": {
                "containers": [
                    {
                        "name": app["service"],
                        "ready": ready(url),
                        "restartCount": 0,
                        "runningState": "Running",
                        "started": True,
                    }
                ],
                "createdTime": "2026-01-01T00:00:00+00:00",
                "runningState": "Running",
            },
            "type": "Microsoft.App/containerApps/revisions/replicas",
        }
        for index, url in enumerate(app["urls"])
    ]


def _container_app(name: str, app: dict[str, Any], revision: str) -> dict[str, Any]:
    return {
        "name": name,
        "properties": {
            "latestRevisionName": revision,
            "latestReadyRevisionName": revision,
            "provisioningState": "Succeeded",
            "runningStatus": "Running",
            "template": {"containers": [{"image": app["image"], "name": app["service"]}]},
        },
        "type": "Microsoft.App/containerApps",
    }


def _revision(app: dict[str, Any], revision: str) -> dict[str, Any]:
    return {
        "name": revision,
        "properties": {
            "active": True,
            "healthState": app.get("health", "Healthy"),
            "provisioningState": "Provisioned",
            "replicas": len(app["urls"]),
            "runningState": app.get("running", "Running"),
        },
    }


def _console_log(app: dict[str, Any], opts: dict[str, str]) -> None:
    """The last `--tail` lines of the service's local logs, as `az containerapp logs show` prints them."""
    assert opts.get("type") == "console", opts
    assert opts.get("format") == "text", opts
    lines: list[str] = []
    for log in app["logs"]:
        path = Path(log)
        if path.exists():
            lines += path.read_text(errors="replace").splitlines()
    tail = int(opts.get("tail", "20"))
    for line in lines[-tail:]:
        sys.stdout.write(f"{line}\n")


def containerapp(state: State, words: list[str], opts: dict[str, str]) -> None:
    apps = state.data["apps"]
    app = apps.get(opts.get("name", ""))
    if app is None:
        name = opts.get("name")
        resource = f"Microsoft.App/containerApps/{name}"
        sys.stderr.write(f"(ResourceNotFound) The Resource '{resource}' was not found.\n")
        sys.exit(3)
    assert opts.get("resource-group") == state.data["resource_group"], opts
    revision = app.get("revision", f"{opts['name']}--azd-1")
    if words == ["show"]:
        emit(_container_app(opts["name"], app, revision), opts)
    elif words == ["revision", "show"]:
        assert opts.get("revision") == revision
        emit(_revision(app, revision), opts)
    elif words == ["replica", "list"]:
        assert opts.get("revision") == revision
        emit(_replicas(app, revision), opts)
    elif words == ["logs", "show"]:
        _console_log(app, opts)
    else:
        usage(["containerapp", *words])


def az(args: list[str]) -> None:
    state = State(Path(os.environ["FAKE_AZ_STATE"]))
    state.data.setdefault("calls", []).append(["az", *args])
    state.save()
    words, opts = options(args)
    if not words:
        usage(args)
    group, rest = words[0], words[1:]
    if group == "keyvault":
        keyvault(state, rest, opts)
    elif group == "appconfig":
        appconfig(state, rest, opts)
    elif group == "containerapp":
        containerapp(state, rest, opts)
    else:
        usage(args)


def azd(args: list[str]) -> None:
    state = State(Path(os.environ["FAKE_AZ_STATE"]))
    state.data.setdefault("calls", []).append(["azd", *args])
    if args[:2] == ["env", "set"] and len(args) == 4:
        state.data.setdefault("azd_env", {})[args[2]] = args[3]
        state.save()
        return
    state.save()
    usage(["azd", *args])


if __name__ == "__main__":
    (azd if Path(sys.argv[0]).name == "azd" or sys.argv[1:2] == ["--azd"] else az)(
        [a for a in sys.argv[1:] if a != "--azd"]
    )
