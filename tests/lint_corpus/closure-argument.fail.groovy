pipeline {
    agent any
    triggers {
        cron(spec: { 'H 2 * * *' })  // <-- closure-argument
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
