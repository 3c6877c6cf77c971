"""Prints, as JSON, what the installed Terminal-Bench offers: its agent names, read from its own
enum (so the dashboard's choices follow the installed version); `null` when it is not installed.

usage: python catalog.py
"""

import importlib.util
import json
import os


def main() -> None:
    # Importing terminal_bench's package loads every agent (and LiteLLM, seconds): load only the
    # module that holds the enum, which imports nothing but `enum`.
    offer = None
    spec = importlib.util.find_spec("terminal_bench")
    if spec and spec.submodule_search_locations:
        file = os.path.join(list(spec.submodule_search_locations)[0], "agents", "agent_name.py")
        module_spec = importlib.util.spec_from_file_location("_tb_agent_name", file)
        if module_spec and module_spec.loader and os.path.exists(file):
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
            offer = {"agents": [a.value for a in module.AgentName], "environments": []}
    print(json.dumps(offer))


if __name__ == "__main__":
    main()
