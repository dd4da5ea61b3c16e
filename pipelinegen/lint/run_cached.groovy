// Runs one of pipelinegen's Groovy scripts (the lint AST dumper, the validate harness) from a compiled copy in the
// cache directory, compiling it there first: this JVM compiles once and runs the classes, and the next run starts
// `java` on them directly (pipelinegen/lint/groovy.py cached_script_command), skipping Groovy's script compile.
//
// Usage: groovy run_cached.groovy MAIN_CLASS SCRIPT CACHE_DIR [the script's arguments...]
// Any failure to write the cache only means no cache: the script then runs as `groovy SCRIPT` would run it.

import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.runtime.InvokerHelper

String mainClass = args[0]
File script = new File(args[1])
File cached = new File(args[2])
String[] scriptArgs = args.length > 3 ? args[3..-1] as String[] : new String[0]

if (!new File(cached, mainClass + '.class').isFile()) {
    // compiled to a unique temporary directory, then renamed: a concurrent run sees all the classes or none
    File tmp = new File(cached.parentFile, ".${cached.name}.${UUID.randomUUID()}.tmp")
    try {
        CompilerConfiguration config = new CompilerConfiguration()
        config.targetDirectory = tmp
        CompilationUnit unit = new CompilationUnit(config)
        unit.addSource(mainClass + '.groovy', script.getText('UTF-8'))
        unit.compile()
        if (!tmp.renameTo(cached)) {
            tmp.deleteDir()  // another run got there first
        }
    } catch (Exception ignored) {
        tmp.deleteDir()
    }
}
if (new File(cached, mainClass + '.class').isFile()) {
    URLClassLoader loader = new URLClassLoader([cached.toURI().toURL()] as URL[], this.class.classLoader)
    InvokerHelper.runScript(loader.loadClass(mainClass), scriptArgs)
} else {
    new GroovyShell(this.class.classLoader).run(script, scriptArgs as List)
}
