// Selects the cells a run executes from the compiled plan data (resources/pipelinegen/plan.json).
// This is the Groovy mirror of pipelinegen/plan/expand.py:select; `pipelinegen validate` runs both and
// checks they pick the same cells for every profile. Keep the two in step.

/** The selected cells, in plan order, each a Map with its step's settings merged in. */
List call(Map jobParams) {
    return selection(jobParams).cells
}

/** [cells: the selected cells, outcome: the plan's outcome rule] from ONE parse of the plan data: it is about
 *  half a megabyte of JSON for trunk, so a stage parses it once, not once per use. */
Map selection(Map jobParams) {
    Map data = data()
    Map selection = selectCells(data, resolvedParams(jobParams))
    if (selection.error) {
        error("pipelinegen: ${selection.error}")
    }
    return [cells: selection.cells, outcome: data.outcome]
}

/** The job parameters as this build uses them: an empty `repository` / `branch` is the job's own SCM
 *  (`params.repository ?: scm.userRemoteConfigs[0].url`, as Cassandra's Jenkinsfile does), so a default
 *  build on a fork's Jenkins builds the fork, pre-commit. A throwaway clone (its JCasC sets
 *  PIPELINEGEN_THROWAWAY_CLONE) never runs the post-commit publish cells. */
Map resolvedParams(Map jobParams) {
    Map out = [:]
    out.putAll(jobParams)
    if (!out.repository) {
        out.repository = (scm.userRemoteConfigs ? scm.userRemoteConfigs[0].url : '') ?: ''
    }
    if (!out.branch) {
        out.branch = (scm.branches ? scm.branches[0].name : '') ?: ''
    }
    out[throwawayCloneKey()] = (env.PIPELINEGEN_THROWAWAY_CLONE ?: '') as String
    return out
}

/** Not a job parameter: where resolvedParams records that the controller is a throwaway clone. */
@NonCPS
static String throwawayCloneKey() {
    return 'pipelinegen_throwaway_clone'
}

/** The plan data shipped with this library. Parsed with groovy.json, not readJSON: readJSON goes through
 *  json-lib, which re-parses every string value that looks like JSON (`[..]`, `{..}`, `null`), so a command
 *  such as `[[ -d build ]]` or a glob `{step}` would arrive as a list, a map or null (docs/jenkins-compatibility.md). */
Map data() {
    return parsePlan(libraryResource('pipelinegen/plan.json'))
}

/** JsonSlurper's lazy maps are not Serializable: they never leave this @NonCPS method (CPS keeps plain copies). */
@NonCPS
static Map parsePlan(String text) {
    Map parsed = (Map) new groovy.json.JsonSlurper().parseText(text)
    Map data = [:]
    for (Object key : parsed.keySet()) {
        if (key != 'cells') {
            data.put(key.toString(), plainJson(parsed.get(key)))
        }
    }
    // Cells are rows in the order of cell_fields (render/plan_data.py CELL_FIELDS): ~1,500 cells in trunk's plan
    // would otherwise repeat every key. A cell names its agent label by key (agent_key): relabelling a resource
    // class changes one line of plan.json instead of one line per cell.
    List fields = data.cell_fields instanceof List ? (List) data.cell_fields : []
    Map labels = data.labels instanceof Map ? (Map) data.labels : [:]
    List cells = []
    for (Object row : (List) (parsed.cells ?: [])) {
        List values = (List) row
        Map cell = [:]
        for (int i = 0; i < fields.size(); i++) {
            cell.put(fields.get(i), plainJson(values.get(i)))
        }
        if (cell.containsKey('agent')) {
            cell.label = labels[cell.agent]
        }
        cells.add(cell)
    }
    data.cells = cells
    return data
}

/** A deep copy of parsed JSON into LinkedHashMap / ArrayList / String / Number / Boolean / null.
 *  Scalars return first and keys are iterated with get(): the cheapest order for the ~23,000 values of trunk's plan. */
@NonCPS
static Object plainJson(Object value) {
    if (value instanceof String || value instanceof Number || value instanceof Boolean || value == null) {
        return value
    }
    if (value instanceof Map) {
        Map source = (Map) value
        Map out = [:]
        for (Object key : source.keySet()) {
            out.put(key.toString(), plainJson(source.get(key)))
        }
        return out
    }
    if (value instanceof List) {
        List out = []
        for (Object item : (List) value) {
            out.add(plainJson(item))
        }
        return out
    }
    return value
}

@NonCPS
static String normaliseRepository(String url) {
    String text = (url ?: '').trim().toLowerCase()
    while (text.endsWith('/')) {
        text = text.substring(0, text.length() - 1)
    }
    if (text.endsWith('.git')) {
        text = text.substring(0, text.length() - 4)
    }
    return text
}

@NonCPS
static boolean isPostCommit(Map data, Map jobParams) {
    String canonical = data.canonical_repository ?: ''
    if (jobParams[throwawayCloneKey()]) {
        return false
    }
    String repository = (jobParams.repository ?: '') as String
    if (canonical == '' || repository == '') {
        return false
    }
    return normaliseRepository(repository) == normaliseRepository(canonical)
}

/** [cells: List, postCommit: boolean, error: String] — pure, so the harness and tests can call it. */
@NonCPS
static Map selectCells(Map data, Map jobParams) {
    boolean postCommit = isPostCommit(data, jobParams)

    // axis values allowed by the job parameters ('' = the parameter default, 'all' = every value)
    List axes = data.axes
    Map allowedValues = [:]
    for (Map axis : axes) {
        List values = axis.values
        if (!axis.parameter) {
            allowedValues[axis.name] = values
            continue
        }
        String value = (jobParams[axis.parameter] ?: '') as String
        if (value == '') {
            value = axis.parameter_default ?: ''
        }
        if (value == '' || value == 'all') {
            allowedValues[axis.name] = values
        } else if (values.contains(value)) {
            allowedValues[axis.name] = [value]
        } else {
            return [cells: [], postCommit: postCommit,
                    error: "${axis.parameter}='${value}' is not one of ${values.join(', ')} (or 'all')".toString()]
        }
    }

    // steps chosen by the profile
    String profileName = (jobParams.profile ?: '') as String
    Map profile = null
    for (Map candidate : data.profiles) {
        if (candidate.name == profileName) {
            profile = candidate
        }
    }
    if (profile == null) {
        List names = []
        for (Map candidate : data.profiles) {
            names.add(candidate.name)
        }
        return [cells: [], postCommit: postCommit,
                error: "unknown profile '${profileName}' (one of: ${names.join(', ')})".toString()]
    }
    Map steps = [:]
    for (Map step : data.steps) {
        steps[step.name] = step
    }
    Set wanted = new HashSet()
    if (profile.custom) {
        String regexp = (jobParams.profile_custom_regexp ?: '') as String
        for (Map step : data.steps) {
            if ((step.name =~ regexp).find()) {
                wanted.add(step.name)
            }
        }
    } else {
        wanted.addAll(profile.steps)
    }

    // cells allowed by axes and post-commit, of a wanted or an `always` step
    Map filters = axisFilters(data, allowedValues)
    Map byId = [:]
    Set chosen = new HashSet()
    for (Map cell : data.cells) {
        byId[cell.id] = cell
        Map step = steps[cell.step]
        if ((wanted.contains(cell.step) || step.always) && allowedCell(step, cell, filters, postCommit)) {
            chosen.add(cell.id)
        }
    }
    // plus the build-once cells they depend on
    List pending = new ArrayList(chosen)
    while (!pending.isEmpty()) {
        String id = pending.remove(pending.size() - 1)
        for (String dependency : byId[id].depends_on) {
            if (!chosen.contains(dependency)) {
                chosen.add(dependency)
                pending.add(dependency)
            }
        }
    }

    // repeat runs: from the job parameters (replacing the selected test steps' cells) or repeats.yaml (added)
    List specs = []
    boolean replacesNormalCells = false
    String repeatRegexp = (jobParams[data.repeat.test_regex_parameter] ?: '') as String
    if (repeatRegexp != '') {
        replacesNormalCells = true
        // the same rule as plan/repeat.py _repeat_count: ASCII digits, 1..max_count (the schema's bound)
        String countText = ((jobParams[data.repeat.count_parameter] ?: '') as String).trim()
        int count = data.repeat.default_count as int
        if (countText != '') {
            boolean digits = countText ==~ /[0-9]{1,12}/
            long asked = digits ? Long.parseLong(countText) : 0L
            if (!digits || asked < 1 || asked > (data.repeat.max_count as long)) {
                return [cells: [], postCommit: postCommit,
                        error: "${data.repeat.count_parameter}='${countText}' is not a repeat count: give a whole number from 1 to ${data.repeat.max_count}".toString()]
            }
            count = asked as int
        }
        // a booleanParam arrives as Boolean false: `false ?: 'true'` would turn an unticked box into 'true'
        Object stopValue = jobParams[data.repeat.stop_on_failure_parameter]
        String stopText = stopValue == null || stopValue == '' ? 'true' : stopValue as String
        boolean stop = ['true', 'yes', '1', 'on'].contains(stopText.toLowerCase())
        for (Map step : data.steps) {
            if (wanted.contains(step.name) && step.repeatable) {
                specs.add([step: step.name, tests: repeatRegexp, count: count, stop_on_failure: stop,
                           machines: Math.min(step.splits as int, count)])
            }
        }
    } else {
        for (Map spec : data.repeats) {
            if (wanted.contains(spec.step)) {
                specs.add(spec)
            }
        }
    }
    Set repeatedSteps = new HashSet()
    if (replacesNormalCells) {
        for (Map spec : specs) {
            repeatedSteps.add(spec.step)
        }
    }

    List cells = []
    for (Map cell : data.cells) {
        if (chosen.contains(cell.id) && !repeatedSteps.contains(cell.step)) {
            cells.add(describeCell(data, steps[cell.step], cell))
        }
    }
    for (Map spec : specs) {
        for (Map cell : data.cells) {
            if (cell.step == spec.step && (cell.split as int) == 1 && allowedCell(steps[cell.step], cell, filters, postCommit)) {
                cells.addAll(repeatCells(data, steps[cell.step], cell, spec))
            }
        }
    }
    return [cells: cells, postCommit: postCommit, error: null]
}

/** Per step name, [axis index, allowed values] of each axis the step varies on: worked out once per selection,
 *  not once per cell and axis (trunk's plan has ~1,500 cells). */
@NonCPS
static Map axisFilters(Map data, Map allowedValues) {
    Map out = [:]
    for (Map step : data.steps) {
        List filters = []
        for (int i = 0; i < data.axes.size(); i++) {
            String axisName = data.axes[i].name
            if (step.axes.contains(axisName)) {
                filters.add([i, allowedValues[axisName]])
            }
        }
        out[step.name] = filters
    }
    return out
}

@NonCPS
static boolean allowedCell(Map step, Map cell, Map filters, boolean postCommit) {
    if (step.post_commit_only && !postCommit) {
        return false
    }
    List values = cell.axes
    for (List filter : (List) filters[step.name]) {
        if (!((List) filter[1]).contains(values[filter[0] as int])) {
            return false
        }
    }
    return true
}

/** The repeat cells of one spec for one first-split cell: one per machine (plan/repeat.py). */
@NonCPS
static List repeatCells(Map data, Map step, Map cell, Map spec) {
    int count = spec.count as int
    int machines = Math.max(1, Math.min(spec.machines as int, count))
    String stem = (step.splits as int) == 1 ? cell.name : cell.name.substring(0, cell.name.lastIndexOf(' '))
    String label = spec.tests.replaceAll('\\\\(.)', '$1').replaceAll('[^A-Za-z0-9._-]+', '-')
    label = label.replaceAll('^-+', '').replaceAll('-+$', '')
    label = label.length() > 60 ? label.substring(0, 60) : label
    label = label.replaceAll('^-+', '').replaceAll('-+$', '') ?: 'tests'
    List out = []
    for (int index = 1; index <= machines; index++) {
        int share = count.intdiv(machines) + (index - 1 < count % machines ? 1 : 0)
        String name = "${stem} repeat ${label} ${index}/${machines}".toString()
        // a map literal + putAll: `new LinkedHashMap(Map)` is not on script-security's generic-whitelist
        Map repeat = [:]
        repeat.putAll(cell)
        repeat.name = name
        repeat.id = name.replace('/', 'of').replace(' ', '_').replaceAll('[^A-Za-z0-9._-]', '-')
        repeat.split = index
        Map described = describeCell(data, step, repeat)
        described.splits = machines
        described.attempts = 1  // a failing repetition is the finding: a retry would only hide it
        described.retry_on = 'never'
        described.env = described.env.collect { String entry ->
            entry.startsWith('PIPELINEGEN_SPLITS=') ? "PIPELINEGEN_SPLITS=${machines}".toString() : entry
        }
        described.env.add('PIPELINEGEN_REPEAT_TESTS=' + spec.tests)
        described.env.add('PIPELINEGEN_REPEAT_COUNT=' + share)
        described.env.add('PIPELINEGEN_REPEAT_STOP_ON_FAILURE=' + (spec.stop_on_failure ? 'true' : 'false'))
        out.add(described)
    }
    return out
}

/** Python's str.format for plain {name} fields, as the plan renders the same patterns: {{ and }} are literal braces.
 *  Strings only (no char arithmetic): StringBuilder.append(char) is not on the script-security whitelist. */
@NonCPS
static String renderTemplate(String template, Map fields) {
    StringBuilder out = new StringBuilder()
    int length = template.length()
    int i = 0
    while (i < length) {
        // copy the text up to the next brace in one piece
        int open = template.indexOf('{', i)
        int close = template.indexOf('}', i)
        int brace = open < 0 ? close : (close < 0 ? open : Math.min(open, close))
        if (brace < 0) {
            out.append(template.substring(i))
            break
        }
        out.append(template.substring(i, brace))
        i = brace
        String pair = template.substring(i, Math.min(i + 2, length))
        if (pair == '{{' || pair == '}}') {
            out.append(template.substring(i, i + 1))
            i += 2
        } else if (i == open) {
            int end = template.indexOf('}', i)
            String name = end < 0 ? '' : template.substring(i + 1, end)
            if (!fields.containsKey(name)) {
                throw new Exception("pipelinegen: unknown placeholder {${name}} in '${template}'")
            }
            out.append(fields[name] as String)
            i = end + 1
        } else {
            out.append('}')
            i++
        }
    }
    return out.toString()
}

/** A cell with its step's settings and its environment, ready to run. */
@NonCPS
static Map describeCell(Map data, Map step, Map cell) {
    Map out = [:]
    out.putAll(step)
    out.putAll(cell)
    out.step = step.name
    Map axisValues = [:]
    List env = []
    for (int i = 0; i < data.axes.size(); i++) {
        String name = data.axes[i].name
        axisValues[name] = cell.axes[i]
        env.add('PIPELINEGEN_' + name.toUpperCase().replaceAll('[^A-Z0-9]', '_') + '=' + cell.axes[i])
    }
    out.axes = axisValues
    // the environment contract of CI-agnostic scripts, the same as `pipelinegen run` gives (docs/scripts.md)
    env.add('PIPELINEGEN_CELL=' + cell.id)
    env.add('PIPELINEGEN_CELL_ID=' + cell.id)
    env.add('PIPELINEGEN_CELL_NAME=' + cell.name)
    env.add('PIPELINEGEN_STEP=' + step.name)
    env.add('PIPELINEGEN_SPLIT=' + cell.split)
    env.add('PIPELINEGEN_SPLITS=' + step.splits)
    env.add('PIPELINEGEN_COMMAND=' + cell.command)
    out.results_root = data.results_root
    out.results_dir = data.results_root + '/' + cell.id
    env.add('PIPELINEGEN_RESULTS_DIR=' + out.results_dir)
    env.addAll(step.env)
    out.env = env
    Map fields = [:]
    fields.putAll(axisValues)
    fields.putAll([step: step.name, split: cell.split, splits: step.splits, cell_id: cell.id])
    for (Map checkout : step.checkouts) {
        fields[checkout.name + '_dir'] = checkout.directory
    }
    List patterns = []
    List junitPatterns = []
    for (String pattern : step.results + step.archive) {
        String text = renderTemplate(pattern, fields)
        patterns.add(text)
        if (step.results.contains(pattern)) {
            junitPatterns.add(out.results_dir + '/' + text)
        }
    }
    out.collect_patterns = patterns
    out.junit_patterns = junitPatterns
    return out
}
