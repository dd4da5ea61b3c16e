// The summary stage: light by design (Cassandra's summary stage once waited 109 minutes for ~3 minutes
// of work, and copying artifacts took hours). Each cell stashed its small result files (status records,
// JUnit, compressed console) as it finished; here ONE agent unstashes them, records the cells that never
// took an agent (not-run: a build-once dependency failed), and runs a pinned pipelinegen to build the
// certified bundle, the HTML summary and the merged JUnit, archived as build artifacts. Post-commit, the
// publish cells then run with the bundle (notifications, uploads); elsewhere they are skipped quietly.
// Also called from `post { aborted }`: an aborted build's bundle is marked incomplete and names its missing cells.

import groovy.json.JsonOutput

void call(boolean aborted = false) {
    Map data = pipelinegenPlan.data()
    Map jobParams = pipelinegenPlan.resolvedParams(params)
    Map selection = pipelinegenPlan.selectCells(data, jobParams)
    if (selection.error) {
        echo("pipelinegen: no summary: ${selection.error}")
        return
    }
    Set failedBuilds = new HashSet((env.PIPELINEGEN_FAILED_BUILDS ?: '').tokenize(','))
    Map unrecorded = attemptsById(env.PIPELINEGEN_UNRECORDED ?: '')
    Map rule = data.outcome
    String root = data.results_root
    List refs = []
    List missing = []
    node(summaryLabel(selection.cells)) {
        deleteDir()
        String commit = ''
        dir('.pipelinegen/source') {
            // the project at the commit the cells built: pipeline.yaml + generated/ give the bundle its
            // pipeline identity, so `results verify --pipeline pipeline.yaml` checks the run's definition
            commit = pipelinegenCells.checkoutProject()
        }
        for (Map cell : selection.cells) {
            refs.add([id: cell.id, name: cell.name, step: cell.step, axes: cell.axes, split: cell.split, splits: cell.splits])
            String blocker = failedDependency(cell, failedBuilds)
            if (blocker) {
                writeFile(file: "${root}/${cell.id}/status-0.json", text: JsonOutput.toJson(
                    [cell: cell.id, name: cell.name, step: cell.step, status: 'not-run', outcome: 'not-run', attempt: 0,
                     reason: "the build-once cell ${blocker} failed".toString(), node: '', build_url: env.BUILD_URL ?: '']))
                continue
            }
            if (unrecorded.containsKey(cell.id)) {
                int attempt = unrecorded[cell.id] as int
                writeFile(file: "${root}/${cell.id}/status-${attempt}.json", text: JsonOutput.toJson(
                    [cell: cell.id, name: cell.name, step: cell.step, status: rule.statuses.infra, outcome: 'infra',
                     attempt: attempt, reason: 'the agent was lost', node: '', build_url: env.BUILD_URL ?: '']))
            }
            try {
                unstash(pipelinegenCells.resultsStash(cell.id as String))
            } catch (InterruptedException interruption) {
                throw interruption
            } catch (Exception none) {
                if (!unrecorded.containsKey(cell.id)) {
                    missing.add(cell.id)  // never ran: the build was aborted or stopped before it
                }
            }
        }
        boolean complete = !aborted && missing.isEmpty()
        writeFile(file: "${root}/plan.json", text: JsonOutput.toJson([
            format: 'pipelinegen-jenkins-results', project: data.project, generator: data.generator,
            post_commit: selection.postCommit, parameters: bundleParameters(jobParams), cells: refs,
            complete: complete, build_url: env.BUILD_URL ?: '', started_ms: currentBuild.startTimeInMillis,
            ended_ms: System.currentTimeMillis(), labels: labels(selection.cells),
            reason: complete ? '' : (aborted ? 'the build was aborted' : "${missing.size()} cell(s) never ran").toString()]))
        writeFile(file: '.pipelinegen/summarise.sh', text: libraryResource('pipelinegen/summarise.sh'))
        withEnv(['PIPELINEGEN_VERSION=' + (data.generator as String).replace('pipelinegen ', ''),
                 'PIPELINEGEN_RESULTS_ROOT=' + root, 'PIPELINEGEN_COMMIT=' + commit,
                 'PIPELINEGEN_SOURCE=.pipelinegen/source']) {
            sh(label: 'pipelinegen results collect + summary', script: 'bash .pipelinegen/summarise.sh')
        }
        archiveArtifacts(artifacts: "${root}/plan.json,${root}/bundle.tar.zst,${root}/ci_summary.html," +
                                    "${root}/ci_summary_files/**,${root}/TEST-merged.xml", allowEmptyArchive: false)
        if (selection.postCommit && !aborted) {
            stash(name: 'pipelinegen-bundle', includes: "${root}/bundle.tar.zst")
        }
    }
    currentBuild.description = "<a href=\"${env.BUILD_URL ?: ''}artifact/${root}/ci_summary.html\">ci_summary.html</a>, " +
                               "<a href=\"${env.BUILD_URL ?: ''}artifact/${root}/bundle.tar.zst\">bundle</a>"
    if (aborted) {
        return
    }
    if (selection.postCommit) {
        pipelinegenCells('publish')
    } else {
        echo('pipelinegen: not the canonical repository: post-commit publishing skipped')
    }
}

/** The run's parameters as a bundle records them (pipelinegen.plan.cell.Parameters). */
@NonCPS
static Map bundleParameters(Map jobParams) {
    Map extra = [:]
    Set named = ['profile', 'profile_custom_regexp', 'architecture', 'jdk', 'repository', 'branch'] as Set
    for (Map.Entry entry : jobParams.entrySet()) {
        if (!named.contains(entry.key) && entry.key != 'pipelinegen_throwaway_clone' && entry.value != null) {
            extra[entry.key] = entry.value as String
        }
    }
    return [profile: jobParams.profile ?: '', custom_regexp: jobParams.profile_custom_regexp ?: '',
            architecture: jobParams.architecture ?: '', jdk: jobParams.jdk ?: '', repository: jobParams.repository ?: '',
            branch: jobParams.branch ?: '', extra: extra]
}

/** "id=attempt,id=attempt" (env.PIPELINEGEN_UNRECORDED) as a map. */
@NonCPS
static Map attemptsById(String text) {
    Map out = [:]
    for (String entry : text.tokenize(',')) {
        int eq = entry.lastIndexOf('=')
        if (eq > 0) {
            out[entry.substring(0, eq)] = Integer.parseInt(entry.substring(eq + 1))
        }
    }
    return out
}

@NonCPS
static String failedDependency(Map cell, Set failedBuilds) {
    for (String dependency : cell.depends_on) {
        if (failedBuilds.contains(dependency)) {
            return dependency
        }
    }
    return ''
}

@NonCPS
static List labels(List cells) {
    Set seen = new HashSet()
    List out = []
    for (Map cell : cells) {
        if (seen.add(cell.label)) {
            out.add(cell.label)
        }
    }
    return out
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
