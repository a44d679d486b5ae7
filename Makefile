# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test,training]"
	touch $(STAMP)

.PHONY: install run test bench qt-libs
install: $(STAMP)

# Linux: are the Qt window's system libraries there? Asked with the system Python, before the long install.
qt-libs:
	@$(PY) -m riqa_desktop.qt_platform

run: qt-libs $(STAMP)
	$(BIN)/riqa-desktop $(ARGS)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

# The double-click app (PyInstaller, one folder): lean = ONNX Runtime, no torch.
LEAN := .venv-lean
$(LEAN)/.installed: requirements-lean.txt pyproject.toml
	test -x $(LEAN)/bin/python || $(PY) -m venv $(LEAN)
	$(LEAN)/bin/python -m pip install -q --upgrade pip
	$(LEAN)/bin/python -m pip install -q -r requirements-lean.txt
	$(LEAN)/bin/python -m pip install -q --no-deps -e .
	touch $(LEAN)/.installed

.PHONY: app app-full app-test
app: $(LEAN)/.installed
	RIQA_BUILD=lean $(LEAN)/bin/pyinstaller build_app.spec --noconfirm --distpath dist/lean --workpath build/lean

app-full: $(STAMP)
	$(BIN)/python -m pip install -q "pyinstaller>=6.10"
	RIQA_BUILD=full $(BIN)/pyinstaller build_app.spec --noconfirm --distpath dist/full --workpath build/full

# As on a clinic PC: a copy in an empty folder, run with no virtual environment and an almost empty environment.
app-test: app
	T=$$(mktemp -d) && trap 'rm -rf "$$T"' EXIT && mkdir "$$T/home" && cp -a dist/lean/riqa-desktop "$$T/" && \
	cd "$$T" && env -i PATH=/usr/bin:/bin HOME="$$T/home" QT_QPA_PLATFORM=offscreen ./riqa-desktop/riqa-desktop --self-test
