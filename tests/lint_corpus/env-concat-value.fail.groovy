pipeline {
    agent any
    environment {
        A = 'a' + currentBuild.number  // <-- env-concat-value
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
