"""ComputeTask lifecycle: queue, place, dispatch, follow, fail over, cancel and meter."""
