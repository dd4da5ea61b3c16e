// The summary stage: light by design (Cassandra's summary stage once waited 109 minutes for ~3 minutes
// of work). Results were already published per cell as each finished; this only records the selected
// plan next to them, so `pipelinegen results collect` can certify the run, and runs the post-commit
// publish cells (notifications, uploads), which are skipped quietly on any other repository.

import groovy.json.JsonOutput

void call() {
    Map data = pipelinegenPlan.data()
    Map jobParams = pipelinegenPlan.resolvedParams(params)
    Map selection = pipelinegenPlan.selectCells(data, jobParams)
    List ids = []
    for (Map cell : selection.cells) {
        ids.add(cell.id)
    }
    Map parameters = [:]
    for (Map.Entry entry : jobParams.entrySet()) {
        if (entry.key != pipelinegenPlan.throwawayCloneKey()) {
            parameters[entry.key] = entry.value
        }
    }
    node(summaryLabel(selection.cells)) {
        deleteDir()
        // writeFile + JsonOutput, not writeJSON: json-lib would turn a JSON-looking parameter value into a list or null
        writeFile(file: "${data.results_root}/plan.json",
                  text: JsonOutput.toJson([project: data.project, generator: data.generator, post_commit: selection.postCommit,
                                           parameters: parameters, cells: ids, build_url: env.BUILD_URL ?: '']))
        archiveArtifacts(artifacts: "${data.results_root}/plan.json")
    }
    if (selection.postCommit) {
        pipelinegenCells('publish')
    } else {
        echo('pipelinegen: not the canonical repository: post-commit publishing skipped')
    }
}

@NonCPS
static String summaryLabel(List cells) {
    for (Map cell : cells) {
        if (cell.build_once) {
            return cell.label
        }
    }
    return cells.isEmpty() ? '' : cells[0].label
}
