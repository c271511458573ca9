# circnn: two commands from a fresh clone.
#   make demo   train, compress, quantize, verify in RTL; report in build/demo/report.html
#   make test   the test suite (under 15 minutes on 2 cores)
# Everything is installed from PyPI into .venv by `make install` (run by both).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.circnn-installed
JOBS   ?= 2
DEMO   ?= build/demo

SYNTH  ?= build/synth
FORMAL ?= build/formal
# time limit per proof in seconds (BMC then reports the depth it reached)
FORMAL_TIMEOUT ?= 1800
# proofs to run (default: all of `circnn formal --list`)
FORMAL_PROOFS ?=

.PHONY: install test demo bench synth formal clean help

help:
	@echo "make demo    circnn end to end (train, compress, quantize, RTL) with a report in $(DEMO)/"
	@echo "make test    run the test suite"
	@echo "make bench   run the benchmarks recorded in docs/ (slow)"
	@echo "make synth   synthesis figures: FFT design points, digits engines, bitstreams (slower)"
	@echo "make formal  SymbiYosys proofs of the stream interfaces (report in $(FORMAL)/)"
	@echo "make install create or update $(VENV) from pyproject.toml"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "circnn needs Python 3.11 or newer, found " + sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

test: install
	$(PY) -m pytest -n $(JOBS) -q -m "not slow"

demo: install
	$(VENV)/bin/circnn demo -o $(DEMO)

bench: install
	@mkdir -p build/bench
	$(PY) -m pytest -n $(JOBS) -q -m slow
	$(VENV)/bin/circnn bench matmul --json build/bench/matmul.json
	$(VENV)/bin/circnn bench accuracy --plot docs/img/accuracy.png --json build/bench/accuracy.json
	$(VENV)/bin/circnn bench compress --arch mlp --json build/bench/compress-mlp.json
	$(VENV)/bin/circnn bench compress --arch cnn --json build/bench/compress-cnn.json
	$(VENV)/bin/circnn bench onnx --json build/bench/onnx.json
	$(VENV)/bin/circnn bench fft-sqnr --json build/bench/fft-sqnr.json
	$(VENV)/bin/circnn bench engine --batch 32 --json build/bench/engine.json
	$(VENV)/bin/circnn train --arch cnn --channels 16,32 --k 8 --quiet -o build/bench/cnn8.npz
	$(VENV)/bin/circnn dataset --split train -o build/bench/x_train.npy
	$(VENV)/bin/circnn quantize -m build/bench/cnn8.npz --calib build/bench/x_train.npy \
		-o build/bench/cnn8-q.npz --quiet
	$(VENV)/bin/circnn bench engine-speed -m build/bench/cnn8-q.npz --lanes 4 \
		--json build/bench/engine-speed.json
	$(VENV)/bin/circnn bench cycles -m build/bench/cnn8-q.npz --target ecp5-85k --point 1,3,4 \
		--point 1,1,1 --point 2,2,8 --json build/bench/cycles-cnn.json
	$(VENV)/bin/circnn bench soak --inferences 4000 --batches 4 --json build/bench/soak.json

synth: install
	@mkdir -p $(SYNTH)
	$(VENV)/bin/circnn bench fft-synth --seeds 1,2,3 --plot docs/img/fft-synth.png \
		--json $(SYNTH)/fft-synth.json
	$(VENV)/bin/circnn train --arch mlp --k 8 --quiet -o $(SYNTH)/mlp.npz
	$(VENV)/bin/circnn train --arch cnn --channels 16,32 --k 8 --quiet -o $(SYNTH)/cnn.npz
	$(VENV)/bin/circnn dataset --split train -o $(SYNTH)/x_train.npy
	$(VENV)/bin/circnn quantize -m $(SYNTH)/mlp.npz --calib $(SYNTH)/x_train.npy \
		-o $(SYNTH)/mlp-q.npz --quiet
	$(VENV)/bin/circnn quantize -m $(SYNTH)/cnn.npz --calib $(SYNTH)/x_train.npy \
		-o $(SYNTH)/cnn-q.npz --quiet
	$(VENV)/bin/circnn synth engine -m $(SYNTH)/mlp-q.npz --target ecp5-85k --seeds 1,2,3 \
		--json $(SYNTH)/engine-mlp-ecp5.json
	$(VENV)/bin/circnn synth engine -m $(SYNTH)/cnn-q.npz --target ecp5-85k --seeds 1,2,3 \
		--json $(SYNTH)/engine-cnn-ecp5.json
	$(VENV)/bin/circnn synth engine -m $(SYNTH)/mlp-q.npz --target ice40-up5k \
		--json $(SYNTH)/engine-mlp-ice40.json
	@# the CNN does not fit the UP5K (docs/benchmarks.md): its failure is reported, not fatal
	-$(VENV)/bin/circnn synth engine -m $(SYNTH)/cnn-q.npz --target ice40-up5k \
		--json $(SYNTH)/engine-cnn-ice40.json
	$(VENV)/bin/circnn tune -m $(SYNTH)/mlp-q.npz --target ecp5-85k --measure --measure-points 8 \
		--exhaustive-check --plot docs/img/tune-mlp-ecp5.png --json $(SYNTH)/tune-mlp-ecp5.json
	$(VENV)/bin/circnn build --board ulx3s -m $(SYNTH)/mlp-q.npz -o $(SYNTH)/ulx3s-mlp
	$(VENV)/bin/circnn build --board icebreaker -m $(SYNTH)/mlp-q.npz -o $(SYNTH)/icebreaker-mlp

formal: install
	@mkdir -p $(FORMAL)
	$(VENV)/bin/circnn formal $(FORMAL_PROOFS) --timeout $(FORMAL_TIMEOUT) --workdir $(FORMAL)/work \
		--json $(FORMAL)/formal.json

clean:
	rm -rf build .pytest_cache
