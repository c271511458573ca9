# circnn: two commands from a fresh clone.
#   make demo   train, compress and run a block-circulant network end to end
#   make test   the test suite (under 15 minutes on 2 cores)
# Everything is installed from PyPI into .venv by `make install` (run by both).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.circnn-installed
JOBS   ?= 2
DEMO   ?= build/demo

.PHONY: install test demo bench clean help

help:
	@echo "make demo    run circnn end to end (train, compress, infer) into $(DEMO)/"
	@echo "make test    run the test suite"
	@echo "make bench   run the benchmarks recorded in docs/ (slow)"
	@echo "make install create or update $(VENV) from pyproject.toml"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "circnn needs Python 3.11 or newer, found " + sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

test: install
	$(PY) -m pytest -n $(JOBS) -q

demo: install
	@mkdir -p $(DEMO)
	$(VENV)/bin/circnn train --arch mlp --k 8 -o $(DEMO)/mlp-k8.npz
	$(VENV)/bin/circnn train --arch mlp --k 1 --epochs 20 --quiet -o $(DEMO)/mlp-dense.npz
	$(VENV)/bin/circnn compress -i $(DEMO)/mlp-dense.npz --k 8 -o $(DEMO)/mlp-dense-projected-k8.npz
	$(VENV)/bin/circnn dataset --split test -o $(DEMO)/x_test.npy --labels $(DEMO)/y_test.npy
	$(VENV)/bin/circnn infer --engine float -m $(DEMO)/mlp-k8.npz -i $(DEMO)/x_test.npy \
		-o $(DEMO)/y_float.npy --labels $(DEMO)/y_test.npy --json $(DEMO)/infer-float.json
	$(VENV)/bin/circnn infer --engine float -m $(DEMO)/mlp-dense-projected-k8.npz \
		-i $(DEMO)/x_test.npy -o $(DEMO)/y_projected.npy --labels $(DEMO)/y_test.npy
	$(VENV)/bin/circnn generate fft --k 64 --width 16 --p 1 --d 6 -o $(DEMO)/fft64
	$(PY) -c 'import numpy as n; r = n.random.default_rng(0); a = 8192; \
		n.save("$(DEMO)/fft_in.npy", n.round(r.uniform(-a, a, (8, 64))) + 1j * n.round(r.uniform(-a, a, (8, 64))))'
	$(VENV)/bin/circnn fft --k 64 --engine golden -i $(DEMO)/fft_in.npy -o $(DEMO)/fft_golden.npy
	$(VENV)/bin/circnn fft --k 64 --engine rtl -i $(DEMO)/fft_in.npy -o $(DEMO)/fft_rtl.npy \
		--json $(DEMO)/fft_rtl.json
	$(PY) -c 'import numpy as n; g = n.load("$(DEMO)/fft_golden.npy"); r = n.load("$(DEMO)/fft_rtl.npy"); \
		x = n.load("$(DEMO)/fft_in.npy"); assert (g == r).all(), "RTL differs from golden"; \
		e = r - n.fft.fft(x) / 64; print("FFT RTL == golden bit for bit; SQNR vs numpy.fft %.1f dB" % \
		(10 * n.log10((abs(n.fft.fft(x) / 64) ** 2).sum() / (abs(e) ** 2).sum())))'
	$(VENV)/bin/circnn dataset --split train -o $(DEMO)/x_train.npy
	$(VENV)/bin/circnn quantize -m $(DEMO)/mlp-k8.npz --calib $(DEMO)/x_train.npy -o $(DEMO)/mlp-k8-q.npz
	$(VENV)/bin/circnn infer --engine fixed -m $(DEMO)/mlp-k8-q.npz -i $(DEMO)/x_test.npy \
		-o $(DEMO)/y_fixed.npy --labels $(DEMO)/y_test.npy --trace $(DEMO)/trace
	$(VENV)/bin/circnn generate engine -m $(DEMO)/mlp-k8-q.npz --lanes 4 -o $(DEMO)/engine
	$(VENV)/bin/circnn infer --engine rtl --lanes 4 -m $(DEMO)/mlp-k8-q.npz -i $(DEMO)/x_test.npy \
		-o $(DEMO)/y_rtl.npy --labels $(DEMO)/y_test.npy --json $(DEMO)/infer-rtl.json
	@echo "demo outputs in $(DEMO)/"

bench: install
	@mkdir -p build/bench
	$(VENV)/bin/circnn bench matmul --json build/bench/matmul.json
	$(VENV)/bin/circnn bench accuracy --plot docs/img/accuracy.png --json build/bench/accuracy.json
	$(VENV)/bin/circnn bench fft-sqnr --json build/bench/fft-sqnr.json
	$(VENV)/bin/circnn bench engine --batch 32 --json build/bench/engine.json
	$(VENV)/bin/circnn train --arch cnn --channels 16,32 --k 8 --quiet -o build/bench/cnn8.npz
	$(VENV)/bin/circnn dataset --split train -o build/bench/x_train.npy
	$(VENV)/bin/circnn quantize -m build/bench/cnn8.npz --calib build/bench/x_train.npy \
		-o build/bench/cnn8-q.npz --quiet
	$(VENV)/bin/circnn bench engine-speed -m build/bench/cnn8-q.npz --lanes 4 \
		--json build/bench/engine-speed.json

clean:
	rm -rf build .pytest_cache
