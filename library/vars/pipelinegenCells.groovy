// Runs one stage's cells as parallel branches: 'build' runs the build-once cells (in dependency
// waves), 'tests' every other build and test cell, 'publish' the post-commit-only cells.
// Each cell: a node of its label, a fresh checkout, the build-once stashes it depends on, its
// second checkouts, a timeout, its command through run-cell.sh, results published per cell, and a
// retry on another node (the failed node is excluded). A user abort, the build's timeout or fail-fast is
// never retried; the cell's own timeout and a lost agent are.

import groovy.json.JsonOutput

void call(String stageName) {
    List selected = pipelinegenPlan(params)
    List cells = []
    for (Map cell : selected) {
        if (stageOf(cell) == stageName) {
            cells.add(cell)
        }
    }
    if (cells.isEmpty()) {
        echo("pipelinegen: no ${stageName} cells for these parameters")
        return
    }
    Set failedBuilds = new HashSet((env.PIPELINEGEN_FAILED_BUILDS ?: '').tokenize(','))
    Set done = new HashSet()
    List remaining = new ArrayList(cells)
    while (!remaining.isEmpty()) {
        Map branches = [:]
        List wave = readyToRun(remaining)
        if (wave.isEmpty()) {
            error("pipelinegen: ${stageName} cells wait on each other: ${remaining.size()} cannot start")
        }
        for (Map cell : wave) {
            Map current = cell
            branches[current.name] = {
                runCell(current, failedBuilds)
            }
        }
        parallel(branches)
        remaining = withoutCells(remaining, wave)
    }
    env.PIPELINEGEN_FAILED_BUILDS = failedBuilds.join(',')
}

@NonCPS
static String stageOf(Map cell) {
    if (cell.kind == 'publish') {
        return 'publish'
    }
    return cell.build_once ? 'build' : 'tests'
}

/** The cells none of whose dependencies is still waiting in this stage (by id: linear, not cells x cells). */
@NonCPS
static List readyToRun(List remaining) {
    Set waiting = new HashSet()
    for (Map cell : remaining) {
        waiting.add(cell.id)
    }
    List ready = []
    for (Map cell : remaining) {
        boolean blocked = false
        for (String dependency : cell.depends_on) {
            if (waiting.contains(dependency)) {
                blocked = true
            }
        }
        if (!blocked) {
            ready.add(cell)
        }
    }
    return ready
}

/** *cells* minus *done*, compared by id (List.removeAll would compare whole cell maps pairwise). */
@NonCPS
static List withoutCells(List cells, List done) {
    Set doneIds = new HashSet()
    for (Map cell : done) {
        doneIds.add(cell.id)
    }
    List out = []
    for (Map cell : cells) {
        if (!doneIds.contains(cell.id)) {
            out.add(cell)
        }
    }
    return out
}

void runCell(Map cell, Set failedBuilds) {
    for (String dependency : cell.depends_on) {
        if (failedBuilds.contains(dependency)) {
            echo("pipelinegen: ${cell.name} not run: the build-once cell ${dependency} failed")
            recordStatus(cell, 'not-run', 0, '', 0, 0)
            return
        }
    }
    List excludedNodes = []
    int attempts = cell.attempts as int
    int attempt = 0
    // The retry and catchError steps tell a real abort from a retryable interruption
    // (FlowInterruptedException.isActualInterruption(), which sandboxed code may not call): a user abort,
    // the build's timeout or fail-fast propagate; a failed command, the cell's own timeout and a lost agent
    // (workflow-durable-task-step RemovedNodeCause) are retried on another node, then recorded as FAILURE.
    catchError(buildResult: 'FAILURE', stageResult: 'FAILURE', catchInterruptions: false,
               message: "pipelinegen: ${cell.name} failed after ${attempts} attempt(s)".toString()) {
        retry(count: attempts) {
            attempt++
            String nodeName = ''
            long started = System.currentTimeMillis()
            try {
                node(labelExcluding(cell.label as String, excludedNodes)) {
                    nodeName = env.NODE_NAME ?: ''
                    runOnNode(cell, attempt, started)
                }
            } catch (Exception failure) {
                echo("pipelinegen: ${cell.name} attempt ${attempt}/${attempts} failed on ${nodeName ?: 'no node'}: ${failure.message}")
                if (nodeName) {
                    excludedNodes.add(nodeName)
                }
                if (attempt >= attempts && cell.build_once) {
                    failedBuilds.add(cell.id)
                }
                throw failure
            }
        }
    }
}

/** The cell's label, excluding nodes it already failed on (node names are labels of their own).
 *  The label is parenthesised: in `a || b && !"n"` the && binds first and n would stay eligible for a. */
@NonCPS
static String labelExcluding(String label, List excludedNodes) {
    if (excludedNodes.isEmpty()) {
        return label
    }
    String expression = (label ?: '').trim() == '' ? '' : '(' + label + ')'
    for (String name : excludedNodes) {
        String excluded = '!"' + name.replace('\\', '\\\\').replace('"', '\\"') + '"'
        expression = expression == '' ? excluded : expression + ' && ' + excluded
    }
    return expression
}

void runOnNode(Map cell, int attempt, long started) {
    String status = 'failed'
    try {
        deleteDir()
        checkoutProject()
        for (Map checkout : cell.checkouts) {
            dir(checkout.directory) {
                checkoutRepository((params[checkout.repository_parameter] ?: checkout.repository) as String,
                                   (params[checkout.branch_parameter] ?: checkout.branch) as String)
            }
        }
        for (String dependency : cell.depends_on) {
            unstash(dependency)
        }
        writeFile(file: '.pipelinegen/run-cell.sh', text: libraryResource('pipelinegen/run-cell.sh'))
        writeFile(file: '.pipelinegen/collect-results.sh', text: libraryResource('pipelinegen/collect-results.sh'))
        withEnv(cell.env + ['PIPELINEGEN_ATTEMPT=' + attempt, 'PIPELINEGEN_COLLECT=' + cell.collect_patterns.join('\n')]) {
            try {
                timeout(time: cell.timeout_minutes as int, unit: 'MINUTES') {
                    sh(label: cell.name, script: 'bash .pipelinegen/run-cell.sh')
                }
                status = 'passed'
            } finally {
                sh(label: 'collect results', script: 'bash .pipelinegen/collect-results.sh')
                if (!cell.junit_patterns.isEmpty()) {
                    junit(testResults: cell.junit_patterns.join(','), allowEmptyResults: true)
                }
            }
        }
        if (cell.build_once && status == 'passed') {
            stash(name: cell.id, includes: cell.stash_includes)
        }
    } finally {
        recordStatus(cell, status, attempt, env.NODE_NAME ?: '', started, System.currentTimeMillis())
        archiveArtifacts(artifacts: "${cell.results_dir}/**", allowEmptyArchive: true)
    }
}

/** The job's own SCM when neither repository nor branch is given (the exact job configuration); otherwise
 *  the given one, an empty half defaulting to the job's SCM (a fork's branch with `repository` only). */
void checkoutProject() {
    if (!params.repository && !params.branch) {
        checkout(scm)
    } else {
        Map resolved = pipelinegenPlan.resolvedParams(params)
        checkoutRepository(resolved.repository as String, resolved.branch as String)
    }
}

void checkoutRepository(String repository, String branch) {
    checkout([$class: 'GitSCM',
              branches: [[name: branch]],
              userRemoteConfigs: [[url: repository]],
              extensions: [[$class: 'CloneOption', shallow: true, depth: 1, noTags: true]]])
}

/** One JSON file per cell attempt under ci-results/: what `pipelinegen results` builds the bundle from. */
void recordStatus(Map cell, String status, int attempt, String nodeName, long started, long ended) {
    Map record = [cell: cell.id, name: cell.name, step: cell.step, status: status, attempt: attempt,
                  node: nodeName, started_ms: started, ended_ms: ended, build_url: env.BUILD_URL ?: '']
    if (status == 'not-run') {
        node(cell.label as String) {
            writeFile(file: "${cell.results_dir}/status-${attempt}.json", text: JsonOutput.toJson(record))
            archiveArtifacts(artifacts: "${cell.results_dir}/status-*.json")
        }
    } else {
        writeFile(file: "${cell.results_dir}/status-${attempt}.json", text: JsonOutput.toJson(record))
    }
}
