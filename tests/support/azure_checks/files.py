"""The Azure Bicep files as the checks read them: parsed, as written or with one change made in memory
(a `Mutation`, so the tests can show that each check catches the mistake it is for)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.support.deployfiles import DEPLOY_DIR, bicep_files, bicep_text, render


@dataclass(frozen=True)
class Mutation:
    file: str
    old: str
    new: str
    finds: str
    """A fragment of the problem the checks must report."""

    def __str__(self) -> str:
        return f"{self.file}: {self.old.strip()[:40]} -> {self.new.strip()[:40]}"


@dataclass(frozen=True)
class AzureFiles:
    trees: dict[str, dict[str, Any]]

    @classmethod
    def load(cls, mutation: Mutation | None = None) -> AzureFiles:
        trees = {}
        for path in bicep_files():
            name = str(path.relative_to(DEPLOY_DIR))
            text = path.read_text()
            if mutation is not None and mutation.file == name:
                assert mutation.old in text, f"the mutation no longer applies: {mutation}"
                text = text.replace(mutation.old, mutation.new, 1)
            trees[name] = bicep_text(text)
        return cls(trees)

    def tree(self, name: str) -> dict[str, Any]:
        return self.trees[name]

    @property
    def main(self) -> dict[str, Any]:
        return self.trees["main.bicep"]

    @property
    def dapr(self) -> dict[str, Any]:
        return self.trees["modules/dapr-components.bicep"]

    def components(self) -> dict[str, dict[str, Any]]:
        return {
            r["config"]["name"]: r["config"]["properties"]
            for r in self.dapr["resources"].values()
            if r["type"] == "Microsoft.App/managedEnvironments/daprComponents" and not r["existing"]
        }

    def metadata(self, component: str) -> dict[str, Any]:
        return {item["name"]: item.get("value") for item in self.components()[component]["metadata"]}

    def value(self, component: str, name: str) -> str:
        """A component's metadata value as written (`join(list, ';')` of a variable resolved)."""
        node = self.metadata(component).get(name)
        if isinstance(node, dict) and node.get("function", {}).get("type") == "join":
            parameters = node["function"]["parameters"]
            items = self.dapr["variables"][parameters["input_array"]]["value"]
            return str(parameters["delimiter"]).join(items)
        return render(node)

    def module_params(self, symbol: str) -> dict[str, str]:
        """What main.bicep passes to a module, rendered."""
        module = self.main["modules"][symbol]["config"]
        module = module.get("config", module)
        return {name: render(value) for name, value in module["params"].items()}

    def output(self, name: str, output: str) -> str:
        """An output's expression, rendered; empty when the module has no such output."""
        found = self.tree(name).get("outputs", {}).get(output)
        return render(found["value"]) if found else ""

    def variable(self, name: str, variable: str) -> Any:
        """A variable's value; None when the file has no such variable."""
        return self.tree(name).get("variables", {}).get(variable, {}).get("value")

    def resource(self, name: str, symbol: str) -> dict[str, Any]:
        """A resource's body (inside its condition); empty when the file has no such resource."""
        found = self.tree(name).get("resources", {}).get(symbol)
        if found is None:
            return {}
        config = found["config"]
        return dict(config.get("config", config)) if "condition" in config else dict(config)
