PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SHARED ?= ../shared/data

MODEL ?= unet
PRESET ?= small
OUT ?= runs/$(MODEL)
TRAIN_ARGS = --model $(MODEL) --preset $(PRESET) --out $(OUT) \
	$(if $(DATA),--data $(DATA)) $(if $(EPOCHS),--epochs $(EPOCHS)) $(if $(BATCH),--batch $(BATCH))

RUN ?= runs/$(MODEL)
EVAL_OUT ?= $(RUN)/evaluation
METRICS ?= psnr ssim colorfulness saturation ab_mae

.PHONY: install test demo data train evaluate results bench clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[cpu,test]'
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

demo: $(STAMP)
	$(PY) -m keras_colorize.demo --out runs/demo

data: $(STAMP)
	$(PY) -m data_prep standard --shared $(SHARED) --out data

train: $(STAMP)
	$(PY) train.py $(TRAIN_ARGS)

evaluate: $(STAMP)
	$(PY) evaluate.py --model $(RUN) $(if $(DATA),--data $(DATA)) --metrics $(METRICS) --out $(EVAL_OUT)

results: $(STAMP)
	$(PY) scripts/results.py --data data --shared $(SHARED) $(if $(RESCORE),--rescore)

bench: $(STAMP)
	$(PY) benchmarks/data_pipeline.py --shared $(SHARED)
	$(PY) benchmarks/training_speed.py
	$(PY) benchmarks/layer_speed.py
	$(PY) benchmarks/inference_speed.py --shared $(SHARED)
	$(PY) benchmarks/peers.py --shared $(SHARED)
	$(PY) benchmarks/video_speed.py --shared $(SHARED)
	$(PY) benchmarks/summary.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
