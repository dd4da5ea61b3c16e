pipeline {
    agent any
    post {
        sometimes { echo 'x' }  // <-- post-condition
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
