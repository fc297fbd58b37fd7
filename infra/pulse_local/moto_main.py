"""`python -m pulse_local.moto_main -H 127.0.0.1 -p PORT`: moto's server with pulse_local.moto_patches,
executing the template's state machines, whose Lambda tasks run the template's handlers in this
process (pulse_local.step_functions), for the stack whose parameters PULSE_STACK_PARAMETERS gives."""

import json
import os

from moto.core.config import default_user_config
from moto.server import main

from pulse_cli.template import Stack
from pulse_local import step_functions
from pulse_local.moto_patches import install

if __name__ == "__main__":
    install()
    default_user_config.update(step_functions.CONFIG)
    step_functions.install(Stack(parameters=json.loads(os.environ.get("PULSE_STACK_PARAMETERS", "{}"))))
    main()
