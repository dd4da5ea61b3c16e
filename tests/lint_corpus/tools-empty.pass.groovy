pipeline {
    agent any
    tools { jdk 'jdk11' }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
