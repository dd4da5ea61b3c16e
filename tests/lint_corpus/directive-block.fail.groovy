pipeline {
    agent any
    options {
        timeout(time: 1) { echo 'x' }  // <-- directive-block
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
