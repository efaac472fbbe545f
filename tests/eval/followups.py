"""Follow-up phrasings as users write them, each with the intent a person means (kind + the detail that matters)."""
from __future__ import annotations

FOLLOWUPS: tuple[tuple[str, str, dict], ...] = (
    # weight changes
    ("could you make model size count for more?", "adjust", {"changes": {"size": 1.0}}),
    ("what if size matters more?", "adjust", {"changes": {"size": 1.0}}),
    ("accuracy should matter a bit less", "adjust", {"changes": {"accuracy": -1.0}}),
    ("give compute a bit more weight", "adjust", {"changes": {"complexity": 1.0}}),
    ("I'd like accuracy to count for more", "adjust", {"changes": {"accuracy": 1.0}}),
    ("less emphasis on accuracy please", "adjust", {"changes": {"accuracy": -1.0}}),
    ("size matters more, accuracy less", "adjust", {"changes": {"size": 1.0, "accuracy": -1.0}}),
    ("accuracy is more important than size", "adjust", {"changes": {"accuracy": 1.0}}),
    ("make accuracy twice as important", "scale", {"changes": {"accuracy": 2.0}}),
    ("size is half as important as I said", "scale", {"changes": {"size": 0.5}}),
    ("double the complexity weight", "scale", {"changes": {"complexity": 2.0}}),
    ("drop size", "ignore", {"metric": "size"}),
    ("size doesn't matter", "ignore", {"metric": "size"}),
    ("set accuracy to 0.8", "set", {"changes": {"accuracy": 0.8}}),
    # latency / energy
    ("I care about latency now", "adjust", {"changes": {"latency": 1.0}}),
    ("let's focus on speed", "adjust", {"changes": {"latency": 1.0}}),
    ("energy matters more", "adjust", {"changes": {"energy": 1.0}}),
    ("set latency to 0.3", "set", {"changes": {"latency": 0.3}}),
    # out of range / not finite
    ("set accuracy to 7", "invalid", {"reason": "[0, 1]"}),
    ("set accuracy to -1", "invalid", {"reason": "[0, 1]"}),
    ("set size to nan", "invalid", {"reason": "finite"}),
    ("set complexity to inf", "invalid", {"reason": "finite"}),
    ("what if the limit is 50?", "invalid", {"reason": "no unit"}),
    # constraints
    ("what if the limit is 50 MB?", "constraint", {"constraints": {"max_size_mb": 50.0}}),
    ("only models under 10 MB please", "constraint", {"constraints": {"max_size_mb": 10.0}}),
    ("limit latency to 30 ms", "constraint", {"constraints": {"max_latency_ms": 30.0}}),
    ("it has to keep up with 25 fps", "constraint", {"constraints": {"max_latency_ms": 40.0}}),
    ("at most 2 million parameters", "constraint", {"constraints": {"max_params": 2e6}}),
    ("drop the size limit", "lift", {"lift": ["max_size_mb"]}),
    ("remove all limits", "lift", {}),
    # top N
    ("show me the top 5", "top_n", {"top_n": 5}),
    ("what are the best three?", "top_n", {"top_n": 3}),
    # strategy / budget / run
    ("use UCB", "strategy", {"strategy": "ucb1"}),
    ("can you try thompson sampling instead", "strategy", {"strategy": "thompson"}),
    ("budget 2000", "budget", {"budget": 2000}),
    ("spend up to 3k calls", "budget", {"budget": 3000}),
    ("run it", "run", {}),
    ("spend them", "spend", {}),
    # why / compare / baselines
    ("why this model?", "why", {}),
    ("why did it pick that one?", "why", {}),
    ("explain the ranking", "why", {}),
    ("compare with baselines", "baselines", {}),
    ("what did the benchmark-card approach pick?", "baselines", {}),
    ("what did brute force cost?", "brute_force_cost", {}),
    # a hub shortlist before any evaluation (issue 13)
    ("which models should I try?", "shortlist", {"k": None, "source": None}),
    ("shortlist 20 models from timm for this", "shortlist", {"k": 20, "source": "timm"}),
    ("what candidates would you pick for a drone under 50 MB?", "shortlist", {"filters": {"max_size_mb": 50.0}}),
    ("show me timm models under 1 GMACs", "shortlist", {"source": "timm", "filters": {"max_macs": 1e9}}),
    ("which models would you recommend for this?", "shortlist", {}),
    ("can you propose 15 candidates?", "shortlist", {"k": 15}),
    ("give me a shortlist from hugging face", "shortlist", {"source": "hf"}),
    ("what models should we evaluate first?", "shortlist", {}),
)
