"""`python -m pulse_local.openapi > infra/openapi.json`: the API's OpenAPI document, from the code."""

import sys

from pulse.entrypoints.api.routes import openapi_document

if __name__ == "__main__":
    sys.stdout.write(openapi_document())
