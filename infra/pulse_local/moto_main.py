"""`python -m pulse_local.moto_main -H 127.0.0.1 -p PORT`: moto's server with pulse_local.moto_patches."""

from moto.server import main

from pulse_local.moto_patches import install

if __name__ == "__main__":
    install()
    main()
