// For each file named on the command line: parse it with Groovy 2.4 (CONVERSION phase, as the syntax gate)
// and list every call of a method whose name starts with `pwned` - injected code, never data.
// Prints one line per file: "OK <file>", "SYNTAX <file> <message>" or "CALL <file> <method>".
import org.codehaus.groovy.ast.ASTNode
import org.codehaus.groovy.ast.ClassNode
import org.codehaus.groovy.ast.CodeVisitorSupport
import org.codehaus.groovy.ast.builder.AstBuilder
import org.codehaus.groovy.ast.expr.MethodCallExpression
import org.codehaus.groovy.ast.expr.StaticMethodCallExpression
import org.codehaus.groovy.ast.stmt.Statement
import org.codehaus.groovy.control.CompilePhase

class MarkerCalls extends CodeVisitorSupport {
    List<String> found = []
    void visitMethodCallExpression(MethodCallExpression call) {
        if (call.methodAsString?.startsWith('pwned')) { found << call.methodAsString }
        super.visitMethodCallExpression(call)
    }
    void visitStaticMethodCallExpression(StaticMethodCallExpression call) {
        if (call.method?.startsWith('pwned')) { found << call.method }
        super.visitStaticMethodCallExpression(call)
    }
}

for (String name : args) {
    String text = new File(name).getText('UTF-8')
    List<ASTNode> nodes
    try {
        nodes = new AstBuilder().buildFromString(CompilePhase.CONVERSION, false, text)
    } catch (Throwable failure) {
        println("SYNTAX ${name} ${failure.message?.readLines()?.take(3)?.join(" ")}")
        continue
    }
    MarkerCalls visitor = new MarkerCalls()
    nodes.each { node ->
        if (node instanceof Statement) { node.visit(visitor) }
        if (node instanceof ClassNode) {
            node.methods.each { method -> method.code?.visit(visitor) }
            node.declaredConstructors.each { ctor -> ctor.code?.visit(visitor) }
        }
    }
    println(visitor.found ? "CALL ${name} ${visitor.found.join(',')}" : "OK ${name}")
}
