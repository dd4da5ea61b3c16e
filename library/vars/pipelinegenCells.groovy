// Runs one stage's cells as parallel branches: 'build' runs the build-once cells (in dependency
// waves), 'tests' every other build and test cell, 'publish' the post-commit-only cells.
// Each cell: a node of its label, a fresh checkout, the build-once stashes it depends on, its
// second checkouts, a timeout, its command through run-cell.sh, results published and stashed per cell.
// Its outcome is three-valued (pipelinegen/model/outcome.py): passed, tests failed (UNSTABLE) or an
// infrastructure failure, retried on another node (the failed node is excluded) as the step's retry_on says.
// A user abort, the build's timeout or fail-fast is never retried; the cell's own timeout and a lost agent are.

import groovy.json.JsonOutput

void call(String stageName) {
    Map selection = pipelinegenPlan.selection(params)
    List selected = selection.cells
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
    Map rule = selection.outcome
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
                runCell(current, failedBuilds, rule)
            }
        }
        parallel(branches)
        remaining = withoutCells(remaining, wave)
    }
    env.PIPELINEGEN_FAILED_BUILDS = failedBuilds.join(',')
}

/** The step's stage, from the plan data (pipelinegen/step_kinds.py decides it per kind; no kind is named here). */
@NonCPS
static String stageOf(Map cell) {
    return cell.stage as String
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

/** One cell, three-valued (library copy of pipelinegen/model/outcome.py): passed; tests failed (UNSTABLE, retried
 *  only when the step's retry_on says so); infra failure (retried on another node, FAILURE after the last attempt).
 *  A cell whose build-once dependency failed takes no agent: the summary stage records it not-run. */
void runCell(Map cell, Set failedBuilds, Map rule) {
    for (String dependency : cell.depends_on) {
        if (failedBuilds.contains(dependency)) {
            echo("pipelinegen: ${cell.name} not run: the build-once cell ${dependency} failed")
            return
        }
    }
    List retried = rule.retry_policies[cell.retry_on ?: 'infra'] as List
    int attempts = retried.isEmpty() ? 1 : cell.attempts as int
    List excludedNodes = []
    List records = []  // every attempt's status record, rewritten on the node of each later attempt
    int attempt = 0
    Map last = [:]
    // The retry and catchError steps tell a real abort from a retryable interruption
    // (FlowInterruptedException.isActualInterruption(), which sandboxed code may not call): a user abort,
    // the build's timeout or fail-fast propagate; the cell's own timeout and a lost agent
    // (workflow-durable-task-step RemovedNodeCause) are retried on another node, then recorded as FAILURE.
    catchError(buildResult: 'FAILURE', stageResult: 'FAILURE', catchInterruptions: false,
               message: "pipelinegen: ${cell.name} failed after ${attempts} attempt(s)".toString()) {
        retry(count: attempts) {
            attempt++
            String nodeName = ''
            try {
                node(labelExcluding(cell.label as String, excludedNodes)) {
                    nodeName = env.NODE_NAME ?: ''
                    last = runOnNode(cell, attempt, records, rule)
                }
            } catch (Exception failure) {
                // the cell's timeout, a lost agent, or a step failing around the command: an infrastructure failure
                if (records.size() < attempt) {
                    last = statusRecord(cell, attempt, nodeName, System.currentTimeMillis(), null,
                                        [outcome: 'infra', reason: "the agent was lost: ${failure.message}".toString()], rule)
                    records.add(last)
                    if (attempt >= attempts) {
                        // nothing could be written on that node: the summary stage records it
                        env.PIPELINEGEN_UNRECORDED = ((env.PIPELINEGEN_UNRECORDED ?: '') + ',' + cell.id + '=' + attempt).toString()
                    }
                }
                noteFailedAttempt(cell, attempt, attempts, nodeName, excludedNodes, failedBuilds, failure.message as String)
                throw failure
            }
            if (last.outcome != 'passed' && attempt < attempts && retried.contains(last.outcome)) {
                noteFailedAttempt(cell, attempt, attempts, nodeName, excludedNodes, failedBuilds, last.reason as String)
                error("pipelinegen: ${cell.name} attempt ${attempt}: ${last.reason}, retried on another node")
            }
            if (last.outcome == 'infra') {
                noteFailedAttempt(cell, attempt, attempts, nodeName, excludedNodes, failedBuilds, last.reason as String)
                error("pipelinegen: ${cell.name}: ${last.reason}")
            }
        }
    }
    if (last.outcome == 'tests-failed') {
        if (cell.build_once) {
            failedBuilds.add(cell.id)
        }
        unstable("pipelinegen: ${cell.name}: ${last.reason}".toString())
    }
}

void noteFailedAttempt(Map cell, int attempt, int attempts, String nodeName, List excludedNodes, Set failedBuilds,
                       String reason) {
    echo("pipelinegen: ${cell.name} attempt ${attempt}/${attempts} failed on ${nodeName ?: 'no node'}: ${reason}")
    if (nodeName) {
        excludedNodes.add(nodeName)
    }
    if (attempt >= attempts && cell.build_once) {
        failedBuilds.add(cell.id)
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

/** One attempt on this node: checkout, stashes, the command, its results; returns its status record. The records of
 *  every attempt so far, the JUnit files and the compressed console go into the cell's results stash, which the
 *  summary stage turns into the run's bundle (archived artifacts are for people; stashes need no API download). */
Map runOnNode(Map cell, int attempt, List records, Map rule) {
    long started = System.currentTimeMillis()
    Integer exitCode = null
    Map tests = [total: 0, failed: 0, readable: true]
    String commit = ''
    try {
        deleteDir()
        commit = checkoutProject()
        for (Map checkout : cell.checkouts) {
            dir(checkout.directory) {
                checkoutRepository((params[checkout.repository_parameter] ?: checkout.repository) as String,
                                   (params[checkout.branch_parameter] ?: checkout.branch) as String)
            }
        }
        for (String dependency : cell.depends_on) {
            unstash(dependency)
        }
        if (cell.gets_run_bundle) {
            unstash('pipelinegen-bundle')  // the run's bundle, made by the summary stage: $PIPELINEGEN_BUNDLE
        }
        writeFile(file: '.pipelinegen/run-cell.sh', text: libraryResource('pipelinegen/run-cell.sh'))
        writeFile(file: '.pipelinegen/collect-results.sh', text: libraryResource('pipelinegen/collect-results.sh'))
        withEnv(cell.env + ['PIPELINEGEN_ATTEMPT=' + attempt, 'PIPELINEGEN_COLLECT=' + cell.collect_patterns.join('\n'),
                            'PIPELINEGEN_INFRA_SIGNATURES=' + rule.infra_signatures.join('\n'),
                            'PIPELINEGEN_BUNDLE=' + (cell.gets_run_bundle ? cell.results_root + '/bundle.tar.zst' : '')]) {
            try {
                timeout(time: cell.timeout_minutes as int, unit: 'MINUTES') {
                    exitCode = sh(label: cell.name, script: 'bash .pipelinegen/run-cell.sh', returnStatus: true) as Integer
                }
            } finally {
                sh(label: 'collect results', script: 'bash .pipelinegen/collect-results.sh')
                tests = publishTests(cell)
            }
        }
    } finally {
        Map outcome = classifyOutcome(rule, exitCode, tests.total as int, tests.failed as int, tests.readable as boolean,
                                      exitCode != null && fileExists("${cell.results_dir}/infra-signature.txt"),
                                      cell.expects_tests && !cell.junit_patterns.isEmpty())
        Map record = statusRecord(cell, attempt, env.NODE_NAME ?: '', started, exitCode, outcome, rule)
        record.commit = commit
        records.add(record)
        for (Map earlier : records) {
            writeFile(file: "${cell.results_dir}/status-${earlier.attempt}.json", text: JsonOutput.toJson(earlier))
        }
        stash(name: resultsStash(cell.id as String), allowEmpty: true,
              includes: "${cell.results_dir}/status-*.json,${cell.results_dir}/**/*.xml,${cell.results_dir}/console.log.xz")
        archiveArtifacts(artifacts: "${cell.results_dir}/**", allowEmptyArchive: true)
    }
    if (cell.build_once && records[-1].outcome == 'passed') {
        stash(name: cell.id, includes: cell.stash_includes)
    }
    return records[-1]
}

/** The cell's JUnit files published to Jenkins (the build's test report); their counts, or unreadable. The build
 *  result is decided by the cell's outcome, not by the junit step: a failing attempt that is retried and passes
 *  must not leave the build UNSTABLE. */
Map publishTests(Map cell) {
    if (cell.junit_patterns.isEmpty()) {
        return [total: 0, failed: 0, readable: true]
    }
    try {
        def summary = junit(testResults: cell.junit_patterns.join(','), allowEmptyResults: true,
                            skipMarkingBuildUnstable: true)
        return [total: summary.totalCount as int, failed: summary.failCount as int, readable: true]
    } catch (InterruptedException interruption) {
        throw interruption
    } catch (Exception unreadable) {
        echo("pipelinegen: ${cell.name}: test results unreadable: ${unreadable.message}")
        return [total: 0, failed: 0, readable: false]
    }
}

@NonCPS
static String resultsStash(String cellId) {
    return 'pipelinegen-results-' + cellId
}

/** Groovy copy of pipelinegen/model/outcome.py classify (tests/test_outcome_rule.py holds them equal). */
@NonCPS
static Map classifyOutcome(Map rule, Integer exitCode, int total, int failed, boolean readable, boolean signature,
                           boolean expectsTests) {
    if (exitCode == null) {
        return [outcome: 'infra', reason: 'the command did not finish (cell timeout, lost agent or killed)']
    }
    if (!readable) {
        return [outcome: 'infra', reason: 'unreadable test results']
    }
    int infraExit = rule.infra_exit_code as int
    if (exitCode == infraExit) {
        return [outcome: 'infra', reason: "exit code ${infraExit}: the script reported an infrastructure failure".toString()]
    }
    if (exitCode != 0 && signature) {
        return [outcome: 'infra', reason: 'a known infrastructure failure in the console']
    }
    if (failed > 0) {
        return [outcome: 'tests-failed', reason: "${failed} failing test${failed != 1 ? 's' : ''}".toString()]
    }
    if (exitCode != 0) {
        return [outcome: 'infra', reason: "exit code ${exitCode} without a failing test".toString()]
    }
    if (expectsTests && total == 0) {
        return [outcome: 'infra', reason: 'no test results']
    }
    return [outcome: 'passed', reason: '']
}

/** One attempt's record (ci-results/<cell>/status-<attempt>.json): what `pipelinegen results` builds the bundle from. */
Map statusRecord(Map cell, int attempt, String nodeName, long started, Integer exitCode, Map outcome, Map rule) {
    return [cell: cell.id, name: cell.name, step: cell.step, status: rule.statuses[outcome.outcome], outcome: outcome.outcome,
            reason: outcome.reason, attempt: attempt, exit_code: exitCode, node: nodeName, started_ms: started,
            ended_ms: System.currentTimeMillis(), build_url: env.BUILD_URL ?: '']
}

/** The job's own SCM when neither repository nor branch is given (the exact job configuration); otherwise
 *  the given one, an empty half defaulting to the job's SCM (a fork's branch with `repository` only). */
String checkoutProject() {
    Map scmVars
    if (!params.repository && !params.branch) {
        scmVars = checkout(scm)
    } else {
        Map resolved = pipelinegenPlan.resolvedParams(params)
        scmVars = checkoutRepository(resolved.repository as String, resolved.branch as String)
    }
    return (scmVars?.GIT_COMMIT ?: '') as String
}

Map checkoutRepository(String repository, String branch) {
    return checkout([$class: 'GitSCM',
              branches: [[name: branch]],
              userRemoteConfigs: [[url: repository]],
              extensions: [[$class: 'CloneOption', shallow: true, depth: 1, noTags: true]]])
}
