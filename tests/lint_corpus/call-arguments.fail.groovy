pipeline {
    agent any
    triggers {
        cron()  // <-- call-arguments
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
