"""The browser front end: sources under ``web/src``, built with esbuild into ``web/dist`` and served by the edge."""
