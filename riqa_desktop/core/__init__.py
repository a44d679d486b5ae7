"""Qt-free core: loading, field of view, analysis, advice, results store, folder watching."""
