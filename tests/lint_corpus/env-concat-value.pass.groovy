pipeline {
    agent any
    environment {
        A = 'a' + "${currentBuild.number}"
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
