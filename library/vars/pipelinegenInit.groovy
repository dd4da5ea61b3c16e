// The init stage: checks the job parameters against the plan (a bad profile or jdk fails here, in
// seconds, not after the build stage) and prints what this run will execute, per step.

void call() {
    List cells = pipelinegenPlan(params)
    Map perStep = [:]
    for (Map cell : cells) {
        perStep[cell.step] = (perStep[cell.step] ?: 0) + 1
    }
    List lines = []
    for (Map.Entry entry : perStep.entrySet()) {
        lines.add("  ${entry.key}: ${entry.value}")
    }
    echo("pipelinegen: profile '${params.profile}' runs ${cells.size()} cells\n${lines.join('\n')}")
}
