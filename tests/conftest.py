import os

from hypothesis import settings

settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


# the C++ Verilator driver for bulk runs compiles faster unoptimized; tests simulate few samples
os.environ.setdefault("CIRCNN_FAST_DRIVER_OPT", "-O0")
