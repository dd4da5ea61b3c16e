pipeline {
    agent any
    post {
        always { echo 'x' }
        always { echo 'y' }  // <-- post-duplicate
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
