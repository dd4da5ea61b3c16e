// Dumps the Groovy 2.4 AST of each file named on the command line as ONE JSON line per file.
//
// Jenkins's declarative parser (ModelParser) walks the AST that its embedded Groovy 2.4 produces after the
// CONVERSION phase; we compile with the same Groovy version to the same phase, so the Python rules see
// exactly the statements, calls, closures and literals Jenkins sees. No class files are written.
//
// Output per file: {"file": path, "errors": [{line, column, message}]}  when the file does not compile,
// otherwise        {"file": path, "statements": [...], "call_methods": [[...], ...]}.
// Every node carries "pos": [line, column, lastLine, lastColumn] (1-based, Groovy's own numbering).
import groovy.json.JsonOutput
import org.codehaus.groovy.ast.ASTNode
import org.codehaus.groovy.ast.ModuleNode
import org.codehaus.groovy.ast.expr.*
import org.codehaus.groovy.ast.stmt.*
import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.MultipleCompilationErrorsException
import org.codehaus.groovy.control.Phases
import org.codehaus.groovy.control.messages.ExceptionMessage
import org.codehaus.groovy.control.messages.SimpleMessage
import org.codehaus.groovy.control.messages.SyntaxErrorMessage

List pos(ASTNode n) {
    return [n.lineNumber, n.columnNumber, n.lastLineNumber, n.lastColumnNumber]
}

Map stmt(Statement s) {
    if (s instanceof BlockStatement) {
        return [t: 'block', pos: pos(s), stmts: s.statements.collect { stmt(it) }]
    }
    if (s instanceof ExpressionStatement) {
        return [t: 'expr_stmt', pos: pos(s), e: expr(s.expression)]
    }
    // Any other statement (if, try, return, ...) is never valid where declarative expects a section or a
    // step; its kind is enough for the rules, except that nested pipeline blocks are searched in blocks only.
    return [t: 'stmt', kind: s.getClass().simpleName, pos: pos(s)]
}

Map constant(ConstantExpression c) {
    def v = c.value
    String vt
    if (v == null) {
        vt = 'null'
    } else if (v instanceof String) {
        vt = 'string'
    } else if (v instanceof Boolean) {
        vt = 'bool'
    } else if (v instanceof BigInteger) {
        // Outside the long range Jenkins rejects it (ModelParser.parseArgument); keep the digits exact.
        vt = (v > Long.MAX_VALUE || v < Long.MIN_VALUE) ? 'bigint' : 'int'
        v = v.toString()
    } else if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
        vt = 'int'
    } else if (v instanceof Number) {
        vt = 'decimal'
        v = v.toString()
    } else {
        vt = v.getClass().simpleName
        v = v.toString()
    }
    return [t: 'const', pos: pos(c), v: v, vt: vt]
}

Map expr(Expression e) {
    if (e instanceof MethodCallExpression) {
        def obj = e.objectExpression
        boolean implicitThis = obj instanceof VariableExpression && ((VariableExpression) obj).name == 'this'
        def args = e.arguments
        List argList = (args instanceof TupleExpression) ? ((TupleExpression) args).expressions : [args]
        return [t: 'call', pos: pos(e), name: e.methodAsString, this: implicitThis,
                obj_is_var: obj instanceof VariableExpression,
                args: argList.collect { expr(it) }]
    }
    if (e instanceof ClosureExpression) {
        return [t: 'closure', pos: pos(e), code: e.code == null ? null : stmt(e.code)]
    }
    if (e instanceof ConstantExpression) {
        return constant((ConstantExpression) e)
    }
    if (e instanceof GStringExpression) {
        return [t: 'gstring', pos: pos(e), text: e.text]
    }
    if (e instanceof VariableExpression) {
        return [t: 'var', pos: pos(e), name: e.name]
    }
    if (e instanceof MapExpression) {
        return [t: 'map', pos: pos(e), named: e instanceof NamedArgumentListExpression,
                entries: e.mapEntryExpressions.collect { me ->
                    [t: 'entry', pos: pos(me), k: expr(me.keyExpression), v: expr(me.valueExpression)]
                }]
    }
    if (e instanceof BinaryExpression) {
        return [t: 'binary', pos: pos(e), op: e.operation.text, l: expr(e.leftExpression), r: expr(e.rightExpression)]
    }
    if (e instanceof ListExpression) {
        return [t: 'list', pos: pos(e), items: e.expressions.collect { expr(it) }]
    }
    return [t: 'other', kind: e.getClass().simpleName, pos: pos(e)]
}

List errorsOf(MultipleCompilationErrorsException ex) {
    return ex.errorCollector.errors.collect { m ->
        if (m instanceof SyntaxErrorMessage) {
            def c = m.cause
            return [line: c.line, column: c.startColumn, message: c.originalMessage]
        }
        if (m instanceof ExceptionMessage) {
            return [line: null, column: null, message: String.valueOf(m.cause?.message)]
        }
        if (m instanceof SimpleMessage) {
            return [line: null, column: null, message: m.message]
        }
        return [line: null, column: null, message: m.toString()]
    }
}

// Global AST transformations run during CONVERSION; @Grab's would resolve and download dependencies named by
// the file being linted. A linter must never act on its input, so every global transformation is disabled.
Set<String> globalTransformations() {
    Set<String> names = new HashSet<>()
    def resources = this.class.classLoader.getResources('META-INF/services/org.codehaus.groovy.transform.ASTTransformation')
    resources.each { url ->
        url.getText('UTF-8').eachLine { String line ->
            line = line.trim()
            if (line && !line.startsWith('#')) {
                names.add(line)
            }
        }
    }
    return names
}

@groovy.transform.Field final Set<String> GLOBAL_TRANSFORMATIONS = globalTransformations()

CompilerConfiguration configuration() {
    def config = new CompilerConfiguration()
    config.disabledGlobalASTTransformations = GLOBAL_TRANSFORMATIONS
    return config
}

Map dumpFile(String path) {
    def file = new File(path)
    if (!file.isFile()) {
        return [file: path, missing: true]
    }
    // We stop at CONVERSION, before class generation, so nothing is ever written to disk.
    def cu = new CompilationUnit(configuration())
    // Jenkins reads Jenkinsfiles as UTF-8 text; the script name only has to be a valid class name.
    String text = file.getText('UTF-8')
    if (text.startsWith('\uFEFF')) {
        text = text.substring(1)  // a UTF-8 byte order mark would otherwise become part of the first name
    }
    cu.addSource('Script' + Math.abs(path.hashCode()), text)
    try {
        cu.compile(Phases.CONVERSION)
    } catch (MultipleCompilationErrorsException ex) {
        return [file: path, errors: errorsOf(ex)]
    }
    ModuleNode module = cu.AST.modules[0]
    // Shared-library style: `def call() { pipeline { ... } }` (ModelParser.parse looks into method `call`).
    def callMethods = module.methods.findAll { it.name == 'call' && it.code != null }.collect { m ->
        def code = m.code
        code instanceof BlockStatement ? code.statements.collect { stmt(it) } : [stmt(code)]
    }
    return [file: path, statements: module.statementBlock.statements.collect { stmt(it) }, call_methods: callMethods]
}

// Paths come one per line on stdin (no argv length limit, no quoting issues); results flush per file.
System.in.withReader('UTF-8') { reader ->
    String line
    while ((line = reader.readLine()) != null) {
        if (line.isEmpty()) {
            continue
        }
        Map result
        try {
            result = dumpFile(line)
        } catch (Throwable t) {
            result = [file: line, errors: [[line: null, column: null, message: "internal: ${t}".toString()]]]
        }
        println JsonOutput.toJson(result)
        System.out.flush()
    }
}
