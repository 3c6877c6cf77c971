"""Prints, as JSON, what the installed harnesses offer: their agent names and Harbor's
environment types, read from their own enums (so the dashboard's choices follow the
installed versions). A harness that is not installed is left out.

usage: python catalog.py
"""

import importlib.util
import json
import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def main() -> None:
    catalog: dict[str, dict[str, list[str]]] = {}
    try:
        from harbor.models.agent.name import AgentName
        from harbor.models.environment_type import EnvironmentType

        catalog["harbor"] = {
            "agents": [a.value for a in AgentName],
            "environments": [e.value for e in EnvironmentType],
        }
    except ImportError:
        pass
    # Importing terminal_bench's package loads every agent (and LiteLLM, seconds): load only the
    # module that holds the enum, which imports nothing but `enum`.
    spec = importlib.util.find_spec("terminal_bench")
    if spec and spec.submodule_search_locations:
        file = os.path.join(list(spec.submodule_search_locations)[0], "agents", "agent_name.py")
        module_spec = importlib.util.spec_from_file_location("_tb_agent_name", file)
        if module_spec and module_spec.loader and os.path.exists(file):
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
            catalog["terminus"] = {"agents": [a.value for a in module.AgentName], "environments": []}
    print(json.dumps(catalog))


if __name__ == "__main__":
    main()
